import { baseServiceConfig, memoryRecallSettings, modelProviderSettings, integer, loadConfig, port } from '@keelson/config';
import { rateLimitConfig } from '@keelson/cost';
import { SERVE_DEFAULTS } from '@keelson/messaging';
import { z } from 'zod';

export const sessionAgentConfigSchema = baseServiceConfig.extend({
  ...modelProviderSettings,
  /** The gateway's rate limits: each model call's tokens are charged to the tokens-per-minute ones. */
  ...rateLimitConfig,
  ...memoryRecallSettings,
  ...port('HEALTH_PORT', 8081),
  HOST: z.string().min(1).default('127.0.0.1'),
  // The gateway reads the same two settings with the same bounds: both sides must agree on a session's
  // expiry and on how much history a turn sees.
  SESSION_TTL_SECONDS: integer(3_600, 10),
  SESSION_MAX_MESSAGES: integer(200, 2),
  /** Turns handled at once by this replica (each one a different session: a session's turns queue). */
  TURN_CONCURRENCY: integer(16, 1, 1_024),
  // The stateless invoke responder (docs/operations.md, "Admission control and overload"): invokes run at once
  // by this replica, and the bound on those waiting for one of its slots. A request that would wait longer
  // is answered 503 overloaded with Retry-After at once, instead of waiting unseen in NATS.
  INVOKE_CONCURRENCY: integer(SERVE_DEFAULTS.concurrency, 1, 4_096),
  INVOKE_MAX_QUEUE: integer(SERVE_DEFAULTS.maxQueue, 0, 100_000),
  INVOKE_MAX_QUEUE_WAIT_MS: integer(SERVE_DEFAULTS.maxQueueWaitMs, 1, 60_000),
  /** A directory of agent files (docs/agents.md), watched and reloaded; unset serves the built-in agents. */
  AGENTS_DIR: z.string().min(1, 'set it to a directory of agent files, or leave it unset').optional(),
});
export type SessionAgentConfig = z.infer<typeof sessionAgentConfigSchema>;

export const loadSessionAgentConfig = (env: NodeJS.ProcessEnv = process.env): SessionAgentConfig =>
  loadConfig(sessionAgentConfigSchema, env);
