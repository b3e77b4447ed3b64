import type { INestApplication } from '@nestjs/common';
import { Consumers } from '@keelson/contracts';
import { natsCredentialsFrom } from '@keelson/messaging';
import { bootstrapService, runService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { SERVICE, createSessionAgentModule } from './app.module';
import { loadSessionAgentConfig } from './config';

/** Boots the real service; throws on bad configuration or unreachable NATS/Redis. */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadSessionAgentConfig(env);
  const name = config.SERVICE_NAME ?? SERVICE;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  return bootstrapService({
    name,
    module: createSessionAgentModule(config, logger),
    port: config.HEALTH_PORT,
    host: config.HOST,
    logger,
    transport: { natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), consumers: [Consumers.sessionAgent], concurrency: config.TURN_CONCURRENCY },
  });
}

/** The process entry. */
export const bootstrap = (): Promise<void> => runService(SERVICE, () => createApp());
