import { baseServiceConfig, loadConfig, port } from '@keelson/config';
import { z } from 'zod';

/** Health endpoints only: the service has no API of its own yet, and no Redis, so REDIS_URL is not read. */
export const memoryConfigSchema = baseServiceConfig.omit({ REDIS_URL: true }).extend({
  ...port('HEALTH_PORT', 8083),
  HOST: z.string().min(1).default('127.0.0.1'),
});
export type MemoryServiceConfig = z.infer<typeof memoryConfigSchema>;

export const loadMemoryServiceConfig = (env: NodeJS.ProcessEnv = process.env): MemoryServiceConfig => loadConfig(memoryConfigSchema, env);
