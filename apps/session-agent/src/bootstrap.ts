import type { INestApplication } from '@nestjs/common';
import { Consumers } from '@keelson/contracts';
import { bootstrapService } from '@keelson/nest-kit';
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
    transport: { natsUrl: config.NATS_URL, consumers: [Consumers.sessionAgent], concurrency: config.TURN_CONCURRENCY },
  });
}

/** The process entry: a start-up failure ends the process with one readable line, not a stack of promises. */
export function bootstrap(): Promise<void> {
  return createApp().then(
    () => undefined,
    (err: unknown) => {
      process.stderr.write(`${SERVICE} did not start: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
