import { baseServiceConfig, loadConfig, port } from '@keelson/config';
import { z } from 'zod';

/** Health endpoints only: the service has no API of its own yet, and no Redis, so REDIS_URL is not read. */
export const auditConfigSchema = baseServiceConfig.omit({ REDIS_URL: true }).extend({
  ...port('HEALTH_PORT', 8084),
  HOST: z.string().min(1).default('127.0.0.1'),
});
export type AuditServiceConfig = z.infer<typeof auditConfigSchema>;

export const loadAuditServiceConfig = (env: NodeJS.ProcessEnv = process.env): AuditServiceConfig => loadConfig(auditConfigSchema, env);
