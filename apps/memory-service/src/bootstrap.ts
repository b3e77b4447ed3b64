import type { INestApplication } from '@nestjs/common';
import { MemoryConsumers } from '@keelson/contracts';
import { natsCredentialsFrom } from '@keelson/messaging';
import { bootstrapService, runService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { SERVICE, createMemoryServiceModule } from './app.module';
import { loadMemoryServiceConfig } from './config';

/** Boots the real service; throws on bad configuration, unreachable NATS, or a store that refuses the embedding model. */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadMemoryServiceConfig(env);
  const name = config.SERVICE_NAME ?? SERVICE;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  return bootstrapService({
    name,
    module: createMemoryServiceModule(config, logger),
    port: config.HEALTH_PORT,
    host: config.HOST,
    logger,
    transport: { natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), consumers: [MemoryConsumers.writer], concurrency: config.WRITE_CONCURRENCY },
  });
}

/** The process entry. */
export const bootstrap = (): Promise<void> => runService(SERVICE, () => createApp());
