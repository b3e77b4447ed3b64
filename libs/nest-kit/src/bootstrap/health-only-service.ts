import { Module, type INestApplication } from '@nestjs/common';
import { baseServiceConfig, loadConfig, port } from '@keelson/config';
import { createLogger } from '@keelson/observability';
import { z } from 'zod';
import { HealthModule } from '../health/health.module';
import { InfraModule } from '../infra/infra.module';
import { bootstrapService } from './bootstrap-service';

/** No Redis: a service that owns nothing yet must not report a dependency it does not have. */
export const healthOnlyConfigSchema = (defaultPort: number) =>
  baseServiceConfig.omit({ REDIS_URL: true }).extend({
    ...port('HEALTH_PORT', defaultPort),
    HOST: z.string().min(1).default('127.0.0.1'),
  });

/**
 * Boots a service that so far only connects to NATS and reports health (memory, audit and guard until
 * their issues land): no streams provisioned, no consumers, nothing on the mesh that calls it.
 */
export async function startHealthOnlyService(
  service: string,
  defaultPort: number,
  env: NodeJS.ProcessEnv = process.env,
): Promise<INestApplication> {
  const config = loadConfig(healthOnlyConfigSchema(defaultPort), env);
  const name = config.SERVICE_NAME ?? service;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });

  @Module({ imports: [InfraModule.forRoot({ serviceName: name, natsUrl: config.NATS_URL, streams: [], logger }), HealthModule] })
  class HealthOnlyModule {}

  return bootstrapService({ name, module: HealthOnlyModule, port: config.HEALTH_PORT, host: config.HOST, logger });
}
