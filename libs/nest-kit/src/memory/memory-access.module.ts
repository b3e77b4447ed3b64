import { Global, Module, type DynamicModule } from '@nestjs/common';
import type { JetStreamPublisher, MessagingLogger } from '@keelson/messaging';
import { AgentMemory, MemoryClient } from '@keelson/memory';
import type { NatsConnection } from 'nats';
import { JETSTREAM_PUBLISHER, NATS_CONNECTION, SERVICE_LOGGER } from '../infra/tokens';

export interface MemoryAccessOptions {
  /** How long a turn waits for its memories before it goes on without them (MEMORY_RECALL_TIMEOUT_MS). */
  recallTimeoutMs?: number;
  /** At most this many tokens of memories go into a turn's context (MEMORY_RECALL_TOKEN_BUDGET). */
  tokenBudget?: number;
}

/**
 * Long-term memory for the agent runtimes: AgentMemory over memory-service (NATS request-reply for recall,
 * JetStream for writes). The class is the injection token.
 */
@Global()
@Module({})
export class MemoryAccessModule {
  static forRoot(options: MemoryAccessOptions = {}): DynamicModule {
    return {
      module: MemoryAccessModule,
      global: true,
      providers: [
        {
          provide: AgentMemory,
          inject: [NATS_CONNECTION, JETSTREAM_PUBLISHER, SERVICE_LOGGER],
          useFactory: (nats: NatsConnection, publisher: JetStreamPublisher, logger: MessagingLogger) =>
            new AgentMemory(new MemoryClient(nats, publisher), { logger, ...options }),
        },
      ],
      exports: [AgentMemory],
    };
  }
}
