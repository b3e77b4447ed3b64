import { baseServiceConfig, integer, loadConfig, port } from '@keelson/config';
import { z } from 'zod';

const httpUrl = z.string().url('expected an http(s) URL').refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL');

export const guardServiceConfigSchema = baseServiceConfig
  .extend({
    ...port('HEALTH_PORT', 8085),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** Requests answered at once by this replica. */
    GUARD_CONCURRENCY: integer(64, 1, 4_096),
    /** How long a replica reuses a tenant's policy before reading Redis again (a PUT is seen by other replicas within this). */
    GUARD_POLICY_CACHE_MS: integer(2_000, 0, 600_000),
    /**
     * A mounted file holding the pseudonym master key (32 bytes as 64 hex characters or base64). Without it,
     * policies in `pseudonym` mode get typed placeholders instead.
     */
    GUARD_PSEUDONYM_KEY_FILE: z.string().min(1).optional(),
    /** How long a pseudonym mapping is kept in Redis (per tenant hash, refreshed on each write). */
    GUARD_PSEUDONYM_TTL_SECONDS: integer(30 * 86_400, 60),
    /** Stage 2: an OpenAI-compatible chat-completions endpoint; unset, uncertain inputs are decided by stage 1. */
    GUARD_CLASSIFIER_BASE_URL: httpUrl.optional(),
    GUARD_CLASSIFIER_MODEL: z.string().min(1).default('gpt-4o-mini'),
    GUARD_CLASSIFIER_API_KEY_FILE: z.string().min(1).optional(),
  })
  .superRefine((c, ctx) => {
    if (c.GUARD_CLASSIFIER_BASE_URL && /api\.openai\.com/.test(c.GUARD_CLASSIFIER_BASE_URL) && !c.GUARD_CLASSIFIER_API_KEY_FILE) {
      ctx.addIssue({ code: 'custom', path: ['GUARD_CLASSIFIER_API_KEY_FILE'], message: 'required for api.openai.com (a file holding the key)' });
    }
  });
export type GuardServiceConfig = z.infer<typeof guardServiceConfigSchema>;

export const loadGuardServiceConfig = (env: NodeJS.ProcessEnv = process.env): GuardServiceConfig => loadConfig(guardServiceConfigSchema, env);
