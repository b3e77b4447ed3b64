import { z } from 'zod';
import { logLevel, natsUrl, nodeEnv, otlpEndpoint, redisUrl, samplerRatio } from './fields';
import { objectStoreSettings } from './object-store';

/**
 * What every Keelson service reads. A service adds its own variables with
 * `baseServiceConfig.extend({ ...port('PORT', 3000), AGENTS_DIR: z.string().optional() })`.
 */
export const baseServiceConfig = z.object({
  NATS_URL: natsUrl,
  REDIS_URL: redisUrl,
  LOG_LEVEL: logLevel,
  SERVICE_NAME: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  OTEL_TRACES_SAMPLER_ARG: samplerRatio,
  NODE_ENV: nodeEnv,
  /** Every service records audit events; their large payloads go to object storage when it is configured. */
  ...objectStoreSettings,
});
export type BaseServiceConfig = z.infer<typeof baseServiceConfig>;
