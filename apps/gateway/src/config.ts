import { admissionSettings, baseServiceConfig, httpSettings, integer, loadConfig, port } from '@keelson/config';
import { rateLimitConfig } from '@keelson/cost';
import { TENANT_ID_PATTERN } from '@keelson/contracts';
import { checkOidcSettings, identitySettings } from '@keelson/identity';
import { z } from 'zod';
import { runLogRetention, runLogRetentionByTenant } from './run-log/retention';

export const gatewayConfigSchema = baseServiceConfig.extend({
  ...port('PORT', 8080),
  HOST: z.string().default('127.0.0.1'),
  /** A mounted JSON file of hashed API keys; keys themselves are never configured in plain text. */
  KEELSON_API_KEYS_FILE: z.string({ error: 'set it to the path of the API keys file (see docs/operations.md)' }),
  BODY_LIMIT_BYTES: integer(1_048_576, 1_024, 64 * 1_048_576),
  SESSION_TTL_SECONDS: integer(3_600, 10),
  SESSION_MAX_MESSAGES: integer(200, 2),
  TASK_TTL_SECONDS: integer(86_400, 60),
  INVOKE_TIMEOUT_MS: integer(30_000, 100),
  /** How often the gateway judges running rollouts against their thresholds (docs/rollouts.md). */
  ROLLOUT_EVALUATE_INTERVAL_MS: integer(5_000, 50),
  /** How often the gateway re-reads rollouts and kill switches from Redis: a change reaches it within this. */
  ROLLOUT_REFRESH_MS: integer(1_000, 50),
  TURN_TIMEOUT_MS: integer(60_000, 100),
  PUBLISH_TIMEOUT_MS: integer(5_000, 100),
  /** A directory of agent files (docs/agents.md), watched and reloaded; unset serves the built-in agents. */
  AGENTS_DIR: z.string().min(1, 'set it to a directory of agent files, or leave it unset').optional(),
  /** How far back a session stream may be replayed or resumed (docs/operations.md); default the run log's max age. */
  RUN_LOG_RETENTION: runLogRetention,
  /** Per-tenant replay windows as JSON, e.g. `{"acme":"2h"}`; tenants not named use RUN_LOG_RETENTION. */
  RUN_LOG_RETENTION_BY_TENANT: runLogRetentionByTenant,
  /**
   * Tenants whose keys (with scope ops:read) see every tenant on the dashboard, comma-separated; other
   * tenants' keys see their own tenant only.
   */
  OPS_OPERATOR_TENANTS: z
    .string()
    .default('')
    .transform((v) => v.split(',').map((t) => t.trim()).filter(Boolean))
    .pipe(z.array(z.string().regex(TENANT_ID_PATTERN, 'expected tenant ids separated by commas'))),
  /** A link to a trace in the tracing UI, `{traceId}` replaced, e.g. `http://jaeger:16686/trace/{traceId}`; unset shows no trace links. */
  TRACE_URL_TEMPLATE: z.string().url().refine((v) => v.includes('{traceId}'), 'must contain {traceId}').optional(),
  /** API keys' cache and OIDC bearer tokens (docs/security.md). */
  ...identitySettings,
  /** The interval calls are counted over for the access review: one `auth.access` audit event per key and interval. */
  ACCESS_LOG_INTERVAL_MS: integer(60_000, 1_000, 3_600_000),
  /** Requests and tokens per minute per tenant and per API key (docs/cost.md); 0 is off. */
  ...rateLimitConfig,
  /** Timeouts, header, URL and JSON depth limits, CORS (docs/operations.md, "HTTP edge"). */
  ...httpSettings,
  /** Concurrency limits and queues per request class, load shedding (docs/operations.md, "Admission control and overload"). */
  ...admissionSettings,
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig =>
  checkOidcSettings(loadConfig(gatewayConfigSchema, env));
