import { Module, type INestApplication, type Type } from '@nestjs/common';
import { HealthModule, InfraModule, bootstrapService } from '@keelson/nest-kit';
import { createLogger, type Logger } from '@keelson/observability';
import { loadGuardServiceConfig, type GuardServiceConfig } from './config';

const SERVICE = 'guard-service';

/**
 * NATS and health only. The service provisions no streams and holds no Redis connection: it owns nothing
 * on the mesh yet (see README.md), and readiness reports exactly what it depends on.
 */
export function createGuardServiceModule(config: GuardServiceConfig, logger: Logger): Type<unknown> {
  @Module({
    imports: [InfraModule.forRoot({ serviceName: SERVICE, natsUrl: config.NATS_URL, streams: [], logger }), HealthModule],
  })
  class GuardServiceModule {}
  return GuardServiceModule;
}

/** Boots the real service; throws on bad configuration or an unreachable NATS. */
export async function createApp(env: NodeJS.ProcessEnv = process.env): Promise<INestApplication> {
  const config = loadGuardServiceConfig(env);
  const name = config.SERVICE_NAME ?? SERVICE;
  const logger = createLogger({ service: name, level: config.LOG_LEVEL });
  return bootstrapService({ name, module: createGuardServiceModule(config, logger), port: config.HEALTH_PORT, host: config.HOST, logger });
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
