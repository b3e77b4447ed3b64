import {
  Controller,
  Inject,
  Injectable,
  Module,
  type BeforeApplicationShutdown,
  type DynamicModule,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import { Ctx, EventPattern } from '@nestjs/microservices';
import { MemoryConsumers, MemoryQueueGroup } from '@keelson/contracts';
import { MemoryService } from '@keelson/memory';
import { serveRequests, type MessagingLogger } from '@keelson/messaging';
import { HealthModule, JetStreamContext, NATS_RESPONDER_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';
import type { MemoryServiceConfig } from '../config';
import { memoryRpcHandlers } from './answer-memory';
import { createBackend } from './backend';
import { handleMemoryWrite } from './memory-writes';

const MEMORY_BACKEND = Symbol('MEMORY_BACKEND');
const PURGE_INTERVAL_MS = Symbol('PURGE_INTERVAL_MS');
type Backend = ReturnType<typeof createBackend>;

/**
 * Answers the memory RPCs over core NATS (queue group keelson-memory, so replicas share them). Starts once
 * the application has initialised; stops, answering what it already received, before NATS drains.
 */
@Injectable()
class MemoryResponder implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private servers: { stop(): Promise<void> }[] = [];
  private purgeTimer?: NodeJS.Timeout;

  constructor(
    @Inject(NATS_RESPONDER_CONNECTION) private readonly nats: NatsConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
    @Inject(MemoryService) private readonly memory: MemoryService,
    @Inject(MEMORY_BACKEND) private readonly backend: Backend,
    @Inject(PURGE_INTERVAL_MS) private readonly purgeIntervalMs: number,
  ) {}

  /**
   * The collections are checked before anything is served: an unreachable store or a model / dimension
   * mismatch stops the start. (No readiness check of its own: after this, a store outage shows as failed
   * requests, not as an unready service.)
   */
  async onModuleInit(): Promise<void> {
    await this.memory.init();
  }

  onApplicationBootstrap(): void {
    if (this.purgeIntervalMs > 0) {
      this.purgeTimer = setInterval(() => {
        this.memory.purgeAllExpired().then(
          (purged) => purged > 0 && this.logger.info('expired memories purged', { purged }),
          (err: unknown) => this.logger.warn('purging expired memories failed', { error: (err as Error).message }),
        );
      }, this.purgeIntervalMs);
      this.purgeTimer.unref();
    }
    for (const [subject, handler] of Object.entries(memoryRpcHandlers(this.memory))) {
      this.servers.push(serveRequests(this.nats, subject, MemoryQueueGroup, handler, { logger: this.logger }));
    }
    this.logger.info('answering memory requests', { subjects: Object.keys(memoryRpcHandlers(this.memory)), queue: MemoryQueueGroup });
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.purgeTimer);
    await Promise.all(this.servers.map((s) => s.stop()));
  }

  async onApplicationShutdown(): Promise<void> {
    await this.backend.store.close().catch(() => undefined);
  }
}

/** Binds the memory-writer consumer: resolving acknowledges the write, a throw is settled by the runner. */
@Controller()
class MemoryWritesController {
  constructor(
    @Inject(MemoryService) private readonly memory: MemoryService,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
  ) {}

  @EventPattern(MemoryConsumers.writer.durable)
  async onWrite(@Ctx() context: JetStreamContext): Promise<void> {
    await handleMemoryWrite(this.memory, context.message, this.logger);
  }
}

@Module({})
export class MemoryModule {
  static forRoot(config: MemoryServiceConfig): DynamicModule {
    return {
      module: MemoryModule,
      imports: [HealthModule],
      controllers: [MemoryWritesController],
      providers: [
        {
          provide: MEMORY_BACKEND,
          inject: [SERVICE_LOGGER],
          useFactory: (logger: MessagingLogger): Backend => {
            const backend = createBackend(config);
            logger.info('memory backend', { store: backend.describe, embeddings: `${backend.embedder.model} (${backend.embedder.dimension})` });
            return backend;
          },
        },
        {
          provide: MemoryService,
          inject: [MEMORY_BACKEND],
          useFactory: (backend: Backend) =>
            new MemoryService(backend.store, backend.embedder, { kinds: config.MEMORY_KINDS }),
        },
        { provide: PURGE_INTERVAL_MS, useValue: config.MEMORY_PURGE_INTERVAL_MS },
        MemoryResponder,
      ],
    };
  }
}
