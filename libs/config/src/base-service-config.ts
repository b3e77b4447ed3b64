import { isIP } from 'node:net';
import { z } from 'zod';
import { integer, logLevel, natsUrl, nodeEnv, otlpEndpoint, redisUrl, samplerRatio } from './fields';
import { natsAuthSettings } from './nats-auth';
import { objectStoreSettings } from './object-store';
import { secretRefSetting } from './secret-file';

/**
 * What every Keelson service reads. A service adds its own variables with
 * `baseServiceConfig.extend({ ...port('PORT', 3000), AGENTS_DIR: z.string().optional() })`.
 */
export const baseServiceConfig = z.object({
  NATS_URL: natsUrl,
  /** Replicas of every JetStream stream this service provisions (1-5); more than 1 needs a NATS cluster. */
  JETSTREAM_REPLICAS: integer(1, 1, 5),
  /** This service's NATS credentials (files) and reply inbox prefix; none set means no NATS auth. */
  ...natsAuthSettings,
  REDIS_URL: redisUrl,
  /** Redis's password from a mounted file or a secrets reference, never in REDIS_URL (docs/secrets.md). */
  REDIS_PASSWORD_FILE: z.string().min(1).optional(),
  REDIS_PASSWORD_REF: secretRefSetting(),
  LOG_LEVEL: logLevel,
  SERVICE_NAME: z.string().optional(),
  OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
  OTEL_TRACES_SAMPLER_ARG: samplerRatio,
  NODE_ENV: nodeEnv,
  /**
   * Addresses tools may reach although their range is refused (loopback, private), comma-separated: the
   * local stack's and the tests' servers on 127.0.0.1, an on-premises API. Empty: none.
   */
  EGRESS_ALLOW_ADDRESSES: z
    .string()
    .default('')
    .transform((s) => s.split(',').map((a) => a.trim()).filter(Boolean))
    .refine((list) => list.every((a) => isIP(a) !== 0), 'expected comma-separated IP addresses, such as 127.0.0.1'),
  /**
   * On SIGTERM, how long /readyz answers 503 while the service still works normally, before it stops
   * accepting connections: the time a load balancer needs to see it and send new requests elsewhere
   * (docs/operations.md "Rolling restarts"). 0: close at once, for a service nobody routes to by readiness.
   */
  SHUTDOWN_DRAIN_MS: integer(0, 0, 120_000),
  /** How long a tenant's guard policy is reused by in-process guards before guard-service is asked again. */
  GUARD_POLICY_TTL_MS: integer(60_000, 0),
  /** Every service records audit events; their large payloads go to object storage when it is configured. */
  ...objectStoreSettings,
});
export type BaseServiceConfig = z.infer<typeof baseServiceConfig>;
