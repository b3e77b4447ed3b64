import type { INestApplication } from '@nestjs/common';
import { AuditConsumers } from '@keelson/contracts';
import { natsCredentialsFrom } from '@keelson/messaging';
import { bootstrapService, runService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { SERVICE, createAuditServiceModule } from './app.module';
import { loadAuditServiceConfig } from './config';

/** Boots the real service; throws on bad configuration, unreachable NATS, or a store that cannot be opened. */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadAuditServiceConfig(env);
  const name = config.SERVICE_NAME ?? SERVICE;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  return bootstrapService({
    name,
    module: createAuditServiceModule(config, logger),
    port: config.HEALTH_PORT,
    host: config.HOST,
    logger,
    transport: { natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), consumers: [AuditConsumers.writer], concurrency: config.WRITE_CONCURRENCY },
  });
}

/** The process entry. */
export const bootstrap = (): Promise<void> => runService(SERVICE, () => createApp());
