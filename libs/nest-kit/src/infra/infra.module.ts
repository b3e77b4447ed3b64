import { DynamicModule, Global, Inject, Module, OnApplicationShutdown } from '@nestjs/common';
import type { StreamSpec } from '@keelson/contracts';
import { JetStreamPublisher, connectNats, provisionStreams, type MessagingLogger } from '@keelson/messaging';
import { shutdownTracing } from '@keelson/observability';
import type { NatsConnection } from 'nats';
import { connectRedis, type RedisClient } from './redis';
import { JETSTREAM_PUBLISHER, NATS_CONNECTION, REDIS_CLIENT, SERVICE_LOGGER } from './tokens';

export interface InfraOptions {
  serviceName: string;
  natsUrl: string;
  /** Services without Redis state leave this out. */
  redisUrl?: string;
  /** Streams this service publishes to or reads from; provisioned idempotently before anything starts. */
  streams: StreamSpec[];
  logger: MessagingLogger;
}

class InfraLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(REDIS_CLIENT) private readonly redis: RedisClient | null,
  ) {}

  /** Runs after the transports have stopped consuming, so draining here loses nothing in flight. */
  async onApplicationShutdown(): Promise<void> {
    if (!this.nats.isClosed()) await this.nats.drain().catch(() => undefined);
    if (this.redis?.isOpen) await this.redis.close().catch(() => undefined);
    // Last, so the spans of the drain itself are exported too.
    await shutdownTracing().catch(() => undefined);
  }
}

/** NATS, JetStream publisher and Redis, connected once per process and shared by every module. */
@Global()
@Module({})
export class InfraModule {
  static forRoot(options: InfraOptions): DynamicModule {
    return {
      module: InfraModule,
      providers: [
        { provide: SERVICE_LOGGER, useValue: options.logger },
        {
          provide: NATS_CONNECTION,
          useFactory: async () => {
            const nc = await connectNats({ url: options.natsUrl, name: options.serviceName, logger: options.logger });
            await provisionStreams(nc, options.streams);
            return nc;
          },
        },
        {
          provide: REDIS_CLIENT,
          useFactory: () =>
            options.redisUrl ? connectRedis(options.redisUrl, options.serviceName, options.logger) : null,
        },
        {
          provide: JETSTREAM_PUBLISHER,
          inject: [NATS_CONNECTION],
          useFactory: (nc: NatsConnection) => new JetStreamPublisher(nc, { logger: options.logger }),
        },
        InfraLifecycle,
      ],
      exports: [SERVICE_LOGGER, NATS_CONNECTION, REDIS_CLIENT, JETSTREAM_PUBLISHER],
    };
  }
}
