import { Module, type DynamicModule } from '@nestjs/common';
import type { ConsumerSpec } from '@keelson/contracts';
import type { JetStreamPublisher, MessagingLogger } from '@keelson/messaging';
import { JETSTREAM_PUBLISHER, REDIS_CLIENT, SERVICE_LOGGER, type RedisClient } from '@keelson/nest-kit';
import { AgentRegistry, ProviderRegistry, builtinTools } from '@keelson/runtime';
import { ApprovalStore, TaskStore } from '@keelson/state';
import { TaskProcessor } from './task-processor';
import { TasksController } from './tasks.controller';

export interface TasksOptions {
  ttlSeconds: number;
  /** The consumer as this deployment provisions it. */
  consumer: ConsumerSpec;
}

@Module({})
export class TasksModule {
  static forRoot(options: TasksOptions): DynamicModule {
    return {
      module: TasksModule,
      controllers: [TasksController],
      providers: [
        {
          provide: TaskStore,
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisClient | null) => {
            if (!redis) throw new Error('the task-worker needs Redis: InfraModule was configured without REDIS_URL');
            return new TaskStore(redis, { ttlSeconds: options.ttlSeconds });
          },
        },
        {
          provide: ApprovalStore,
          inject: [REDIS_CLIENT],
          useFactory: (redis: RedisClient | null) => {
            if (!redis) throw new Error('the task-worker needs Redis: InfraModule was configured without REDIS_URL');
            return new ApprovalStore(redis, { retentionSeconds: options.ttlSeconds });
          },
        },
        {
          provide: TaskProcessor,
          inject: [TaskStore, ApprovalStore, JETSTREAM_PUBLISHER, AgentRegistry, ProviderRegistry, SERVICE_LOGGER],
          useFactory: (
            tasks: TaskStore,
            approvals: ApprovalStore,
            publisher: JetStreamPublisher,
            agents: AgentRegistry,
            providers: ProviderRegistry,
            logger: MessagingLogger,
          ) => new TaskProcessor({ tasks, approvals, publisher, agents, providers, tools: builtinTools(), consumer: options.consumer, logger }),
        },
      ],
    };
  }
}
