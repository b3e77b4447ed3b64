/**
 * Side-effect entry that starts tracing from the environment. Make it the FIRST line of an app's main.ts:
 *
 *     import '@keelson/observability/dist/register';
 *
 * Auto-instrumentation works by patching modules (http, undici, ioredis, @nestjs/core, ...) as they are
 * required; anything loaded before this line is never patched and its spans are silently missing. This is
 * Amplication's arrangement, and why it is a separate entry rather than a call inside bootstrap().
 *
 * Reads OTEL_SERVICE_NAME (else SERVICE_NAME), OTEL_EXPORTER_OTLP_ENDPOINT (unset: no export, trace ids
 * still reach the logs) and OTEL_TRACES_SAMPLER_ARG (0..1, default 1); OTEL_SDK_DISABLED=true turns it off.
 * A bad value stops the process here with a ConfigError, as every other setting does.
 * `tracing.shutdown()` flushes spans; call it from the app's shutdown hook.
 */
import { z } from 'zod';
import { baseServiceConfig, loadConfig } from '@keelson/config';
import { startTracing } from './tracing';

const env = loadConfig(
  baseServiceConfig
    .pick({ SERVICE_NAME: true, OTEL_EXPORTER_OTLP_ENDPOINT: true, OTEL_TRACES_SAMPLER_ARG: true })
    .extend({ OTEL_SERVICE_NAME: z.string().optional() }),
);

export const tracing = startTracing({
  serviceName: env.OTEL_SERVICE_NAME ?? env.SERVICE_NAME ?? 'unknown_service:node',
  otlpEndpoint: env.OTEL_EXPORTER_OTLP_ENDPOINT,
  sampleRatio: env.OTEL_TRACES_SAMPLER_ARG,
});
