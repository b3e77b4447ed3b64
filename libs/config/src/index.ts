export * from './base-service-config';
export * from './config-error';
export * from './fields';
export * from './load-config';
export * from './model-providers';
export * from './secret-file';
export * from './memory-recall';
export * from './object-store';
