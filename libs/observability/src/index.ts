import type { Tracing, TracingOptions } from './tracing';

export * from './json-line';
export * from './logger';
export * from './propagation';
export * from './tenant-context';
export * from './trace-format';
export { shutdownTracing } from './tracing-shutdown';
export type { Tracing, TracingOptions } from './tracing';

/**
 * Starts the OpenTelemetry SDK (see tracing.ts). Loaded on first call, so importing this package for a
 * logger does not pay for the SDK. Apps should prefer `import '@keelson/observability/dist/register'` as
 * the first line of main.ts: modules loaded before tracing starts are never instrumented.
 */
export function startTracing(opts: TracingOptions): Tracing {
  const tracing = require('./tracing') as typeof import('./tracing');
  return tracing.startTracing(opts);
}
export * from './metrics/catalogue';
export * from './metrics/registry';
export * from './http-span';
