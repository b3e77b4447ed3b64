export * from './anthropic-wire';
export * from './fake-anthropic';
