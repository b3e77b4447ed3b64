import { baseServiceConfig, memoryRecallSettings, modelProviderSettings, integer, loadConfig, port } from '@keelson/config';
import { rateLimitConfig } from '@keelson/cost';
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
  /** A directory of agent files (docs/agents.md), watched and reloaded; unset serves the built-in agents. */
  AGENTS_DIR: z.string().min(1, 'set it to a directory of agent files, or leave it unset').optional(),
});
export type SessionAgentConfig = z.infer<typeof sessionAgentConfigSchema>;

export const loadSessionAgentConfig = (env: NodeJS.ProcessEnv = process.env): SessionAgentConfig =>
  loadConfig(sessionAgentConfigSchema, env);
