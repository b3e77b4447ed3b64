export * from './http-fetch';
export * from './memory-recall';
export * from './tool';
export * from './tool-registry';
export * from './builtin-tools';
