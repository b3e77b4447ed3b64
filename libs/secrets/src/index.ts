export * from './secret';
export * from './errors';
export * from './secret-ref';
export * from './secret-source';
export * from './secrets';
export * from './env-check';
export * from './sources/file-secret-source';
export * from './sources/vault-secret-source';
