import type { INestApplication } from '@nestjs/common';
import { bootstrapService, runService } from '@keelson/nest-kit';
import { createLogger } from '@keelson/observability';
import { SERVICE, createGuardServiceModule } from './app.module';
import { loadGuardServiceConfig } from './config';

/** Boots the real service; throws on bad configuration, unreachable NATS/Redis or an unreadable key file. */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadGuardServiceConfig(env);
  const name = config.SERVICE_NAME ?? SERVICE;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  return bootstrapService({ name, module: createGuardServiceModule(config, logger), port: config.HEALTH_PORT, host: config.HOST, logger });
}

/** The process entry. */
export const bootstrap = (): Promise<void> => runService(SERVICE, () => createApp());
