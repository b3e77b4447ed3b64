import type { INestApplication } from '@nestjs/common';
import { Consumers } from '@keelson/contracts';
import { natsCredentialsFrom } from '@keelson/messaging';
import { bootstrapService, runService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { SERVICE, createTaskWorkerModule } from './app.module';
import { loadTaskWorkerConfig } from './config';
import { taskConsumerSpec } from './tasks/consumer-spec';

/** Boots the real service; throws on bad configuration or unreachable NATS/Redis. */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadTaskWorkerConfig(env);
  const name = config.SERVICE_NAME ?? SERVICE;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  const consumer = taskConsumerSpec(config);
  return bootstrapService({
    name,
    module: createTaskWorkerModule(config, consumer, logger),
    port: config.HEALTH_PORT,
    host: config.HOST,
    logger,
    transport: { natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), consumers: [consumer, Consumers.taskApprovals], concurrency: config.WORKER_CONCURRENCY },
  });
}

/** The process entry. */
export const bootstrap = (): Promise<void> => runService(SERVICE, () => createApp());
