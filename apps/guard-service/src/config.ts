import { baseServiceConfig, loadConfig, port } from '@keelson/config';
import { z } from 'zod';

/** Health endpoints only: the service has no API of its own yet, and no Redis, so REDIS_URL is not read. */
export const guardConfigSchema = baseServiceConfig.omit({ REDIS_URL: true }).extend({
  ...port('HEALTH_PORT', 8085),
  HOST: z.string().min(1).default('127.0.0.1'),
});
export type GuardServiceConfig = z.infer<typeof guardConfigSchema>;

export const loadGuardServiceConfig = (env: NodeJS.ProcessEnv = process.env): GuardServiceConfig => loadConfig(guardConfigSchema, env);
