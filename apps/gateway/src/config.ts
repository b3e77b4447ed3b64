import { ConfigError, baseServiceConfig, httpSettings, integer, jsonSetting, loadConfig, port } from '@keelson/config';
import { rateLimitConfig } from '@keelson/cost';
import { ScopeSchema, TENANT_ID_PATTERN } from '@keelson/contracts';
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
  /** How long a verified key or token is trusted before Redis is asked again: the most a revocation lags on other replicas. */
  AUTH_CACHE_MS: integer(5_000, 0, 60_000),
  /** The interval calls are counted over for the access review: one `auth.access` audit event per key and interval. */
  ACCESS_LOG_INTERVAL_MS: integer(60_000, 1_000, 3_600_000),
  /** Bearer JWTs from this OIDC issuer are accepted besides API keys (docs/security.md); unset: API keys only. */
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** Default: `jwks_uri` of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_CLOCK_SKEW_SECONDS: integer(60, 0, 600),
  OIDC_TENANT_CLAIM: z.string().min(1).default('keelson_tenant'),
  /** Every token's tenant when the issuer puts none in a claim (one issuer per tenant). */
  OIDC_TENANT: z.string().regex(TENANT_ID_PATTERN).optional(),
  OIDC_SCOPES_CLAIM: z.string().min(1).default('scope'),
  /** IdP values (scopes, groups, roles) to Keelson scopes, JSON, e.g. `{"keelson-admins":["admin","audit:read"]}`. */
  OIDC_SCOPE_MAP: jsonSetting(z.record(z.string(), z.array(ScopeSchema)), '{"keelson-admins":["admin","audit:read"]}').optional(),
  /** Requests and tokens per minute per tenant and per API key (docs/cost.md); 0 is off. */
  ...rateLimitConfig,
  /** Timeouts, header, URL and JSON depth limits, CORS (docs/operations.md, "HTTP edge"). */
  ...httpSettings,
});
export type GatewayConfig = z.infer<typeof gatewayConfigSchema>;

/** OIDC needs an issuer and an audience together: one without the other is a configuration mistake, not "off". */
function checkOidc(config: GatewayConfig): GatewayConfig {
  if ((config.OIDC_ISSUER === undefined) !== (config.OIDC_AUDIENCE === undefined)) {
    const missing = config.OIDC_ISSUER ? 'OIDC_AUDIENCE' : 'OIDC_ISSUER';
    throw new ConfigError([{ name: missing, reason: 'required when the other OIDC setting is set: OIDC_ISSUER and OIDC_AUDIENCE go together' }]);
  }
  return config;
}

export const loadGatewayConfig = (env: NodeJS.ProcessEnv = process.env): GatewayConfig =>
  checkOidc(loadConfig(gatewayConfigSchema, env));
