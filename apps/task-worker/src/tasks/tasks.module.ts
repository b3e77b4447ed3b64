import { Inject, Injectable, Module, type BeforeApplicationShutdown, type DynamicModule, type OnApplicationBootstrap } from '@nestjs/common';
import type { ConsumerSpec } from '@keelson/contracts';
import type { JetStreamPublisher, MessagingLogger } from '@keelson/messaging';
import type { AuditSink } from '@keelson/audit';
import { InlineGuard } from '@keelson/guard';
import { AUDIT_TRAIL, JETSTREAM_PUBLISHER, REDIS_CLIENT, SERVICE_LOGGER, type RedisClient, rolloutControlProviders } from '@keelson/nest-kit';
import { AgentRegistry, ProviderRegistry, RoutingService, UsageMeter, builtinTools } from '@keelson/runtime';
import { AgentMemory } from '@keelson/memory';
import { ApprovalStore, RolloutControl, TaskStore } from '@keelson/state';
import { ApprovalSweeper } from './approval-sweeper';
import { TaskProcessor } from './task-processor';
import { TasksController } from './tasks.controller';

export interface TasksOptions {
  ttlSeconds: number;
  /** The consumer as this deployment provisions it. */
  consumer: ConsumerSpec;
  /** How often this replica looks for approvals past their timeout. */
  approvalSweepIntervalMs: number;
  /** Addresses http_fetch may reach although their range is refused (EGRESS_ALLOW_ADDRESSES). */
  egressAllowAddresses: readonly string[];
}

/** Runs the approval sweeper while the application runs. */
@Injectable()
class ApprovalSweeping implements OnApplicationBootstrap, BeforeApplicationShutdown {
  constructor(@Inject(ApprovalSweeper) private readonly sweeper: ApprovalSweeper) {}

  onApplicationBootstrap(): void {
    this.sweeper.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.sweeper.stop();
  }
}

@Module({})
export class TasksModule {
  static forRoot(options: TasksOptions): DynamicModule {
    return {
      module: TasksModule,
      controllers: [TasksController],
      providers: [
        ...rolloutControlProviders,
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
          inject: [TaskStore, ApprovalStore, JETSTREAM_PUBLISHER, AgentRegistry, ProviderRegistry, UsageMeter, SERVICE_LOGGER, RoutingService, AgentMemory, AUDIT_TRAIL, InlineGuard, RolloutControl],
          useFactory: (
            tasks: TaskStore,
            approvals: ApprovalStore,
            publisher: JetStreamPublisher,
            agents: AgentRegistry,
            providers: ProviderRegistry,
            metering: UsageMeter,
            logger: MessagingLogger,
            routing: RoutingService,
            memory: AgentMemory,
            audit: AuditSink,
            guard: InlineGuard,
            rollouts: RolloutControl,
          ) =>
            new TaskProcessor({
              tasks,
              approvals,
              publisher,
              agents,
              rollouts,
              providers,
              metering,
              routing,
              memory,
              audit,
              guard,
              tools: builtinTools({ memory: memory.recallTool(), http: { allowAddresses: options.egressAllowAddresses } }),
              consumer: options.consumer,
              logger,
            }),
        },
        {
          provide: ApprovalSweeper,
          inject: [ApprovalStore, JETSTREAM_PUBLISHER, SERVICE_LOGGER],
          useFactory: (approvals: ApprovalStore, publisher: JetStreamPublisher, logger: MessagingLogger) =>
            new ApprovalSweeper({ approvals, publisher, logger, intervalMs: options.approvalSweepIntervalMs }),
        },
        ApprovalSweeping,
      ],
    };
  }
}
