import { integer, loadConfig, logLevel, modelProviderSettings, natsAuthSettings } from '@keelson/config';
import { checkOidcSettings, identitySettings } from '@keelson/identity';
import { rateLimitConfig } from '@keelson/cost';
import { z } from 'zod';

const urlWith = (schemes: string[], message: string) =>
  z.string().refine((v) => schemes.some((s) => v.startsWith(`${s}://`)), message);

/**
 * The function's settings (environment variables of the Lambda function). Only the keys file is required:
 * Redis and NATS are optional here, unlike in the mesh, and each one switches on what needs it
 * (docs/serverless.md, "Configuration").
 */
export const functionConfigSchema = z.object({
  /** The JSON file of hashed API keys, as the gateway reads it (packaged, a layer under /opt, or /tmp). */
  KEELSON_API_KEYS_FILE: z.string({ error: 'set it to the path of the API keys file (see docs/serverless.md)' }).min(1),
  /** A directory of agent files; unset serves the built-in agents. Read once per cold start (not watched). */
  AGENTS_DIR: z.string().min(1).optional(),
  /** Largest request body taken, after base64 decoding; the gateway's setting of the same name. */
  BODY_LIMIT_BYTES: integer(1_048_576, 1_024, 6 * 1_048_576),
  /** How long a call may run before it is answered 504 timeout (keep it below the Lambda timeout). */
  INVOKE_TIMEOUT_MS: integer(30_000, 100),
  /** Nesting a JSON body may have, as the gateway's HTTP_MAX_JSON_DEPTH. */
  HTTP_MAX_JSON_DEPTH: integer(64, 1, 1_000),
  /** Budgets, API keys made through the admin API, rate limits and routed agents: all need Redis. Unset: none of them. */
  REDIS_URL: urlWith(['redis', 'rediss'], 'expected a redis:// or rediss:// URL').optional(),
  /** Usage records on the usage stream and audit events: they need NATS. Unset: usage records go to the log, no audit trail. */
  NATS_URL: urlWith(['nats', 'tls'], 'expected a nats:// or tls:// URL').optional(),
  /** A guard policy (JSON, the shape of PUT /v1/guard/policy) for every tenant; unset: the default (strict) policy. */
  GUARD_POLICY_FILE: z.string().min(1).optional(),
  /** API keys' cache and OIDC bearer tokens, as the gateway reads them (docs/security.md). */
  ...identitySettings,
  LOG_LEVEL: logLevel,
  /** The function's NATS identity when NATS_URL is set (NATS_NKEY_SEED_FILE, or NATS_USER + NATS_PASSWORD_FILE). */
  ...natsAuthSettings,
  ...rateLimitConfig,
  ...modelProviderSettings,
});
export type FunctionConfig = z.infer<typeof functionConfigSchema>;

/** The settings, checked: a bad one throws a ConfigError naming each (the cold start fails with it). */
export function loadFunctionConfig(env: NodeJS.ProcessEnv = process.env): FunctionConfig {
  return checkOidcSettings(loadConfig(functionConfigSchema, env));
}
