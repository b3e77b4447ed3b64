export * from './api-key-store';
export * from './authenticator';
export * from './jwt-verifier';
export * from './key-secret';
export * from './principal';
export * from './static-keys';
export * from './settings';
