import { Module, type Type } from '@nestjs/common';
import { MemoryStreams } from '@keelson/contracts';
import { allStreams, natsCredentialsFrom } from '@keelson/messaging';
import { HealthModule, InfraModule } from '@keelson/nest-kit';
import type { Logger } from '@keelson/observability';
import type { MemoryServiceConfig } from './config';
import { MemoryModule } from './memory/memory.module';

export const SERVICE = 'memory-service';

export function createMemoryServiceModule(config: MemoryServiceConfig, logger: Logger): Type<unknown> {
  // Until the lead registers KEELSON_MEMORY_WRITES in Streams, it is provisioned here next to the others
  // (idempotent either way: allStreams() will then hold it, and the de-duplication keeps one copy).
  const streams = [...allStreams()];
  if (!streams.some((s) => s.name === MemoryStreams.writes.name)) streams.push(MemoryStreams.writes);
  @Module({
    imports: [
      InfraModule.forRoot({ serviceName: config.SERVICE_NAME ?? SERVICE, natsUrl: config.NATS_URL, natsCredentials: natsCredentialsFrom(config), streams, logger, objectStore: config }),
      HealthModule,
      MemoryModule.forRoot(config),
    ],
  })
  class MemoryServiceModule {}
  return MemoryServiceModule;
}
