import { Module, type Type } from '@nestjs/common';
import { allStreams, natsCredentialsFrom } from '@keelson/messaging';
import { HealthModule, InfraModule } from '@keelson/nest-kit';
import type { Logger } from '@keelson/observability';
import type { AuditServiceConfig } from './config';
import { AuditModule } from './audit/audit.module';

export const SERVICE = 'audit-service';

export function createAuditServiceModule(config: AuditServiceConfig, logger: Logger): Type<unknown> {
  @Module({
    imports: [
      InfraModule.forRoot({ serviceName: config.SERVICE_NAME ?? SERVICE, natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), streams: allStreams(), logger, objectStore: config }),
      HealthModule,
      AuditModule.forRoot(config),
    ],
  })
  class AuditServiceModule {}
  return AuditServiceModule;
}
