import { natsCredentialsFrom } from '@keelson/messaging';
import { Module, type Type } from '@nestjs/common';
import { HealthModule, InfraModule } from '@keelson/nest-kit';
import type { Logger } from '@keelson/observability';
import type { GuardServiceConfig } from './config';
import { GuardModule } from './guard/guard.module';

export const SERVICE = 'guard-service';

export function createGuardServiceModule(config: GuardServiceConfig, logger: Logger): Type<unknown> {
  @Module({
    imports: [
      // No streams: the guard answers core-NATS requests and publishes decisions on core NATS.
      InfraModule.forRoot({ serviceName: config.SERVICE_NAME ?? SERVICE, natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), redisUrl: config.REDIS_URL, streams: [], logger, objectStore: config }),
      HealthModule,
      GuardModule.forRoot(config),
    ],
  })
  class GuardServiceModule {}
  return GuardServiceModule;
}
