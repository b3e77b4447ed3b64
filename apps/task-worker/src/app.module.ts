import { rulesFor } from '@keelson/cost';
import { Module, type Type } from '@nestjs/common';
import type { ConsumerSpec } from '@keelson/contracts';
import { allStreams, natsCredentialsFrom } from '@keelson/messaging';
import { AgentsModule, GuardAccessModule, HealthModule, InfraModule, MemoryAccessModule } from '@keelson/nest-kit';
import type { Logger } from '@keelson/observability';
import type { TaskWorkerConfig } from './config';
import { TasksModule } from './tasks/tasks.module';

export const SERVICE = 'task-worker';

export function createTaskWorkerModule(config: TaskWorkerConfig, consumer: ConsumerSpec, logger: Logger): Type<unknown> {
  @Module({
    imports: [
      InfraModule.forRoot({
        serviceName: config.SERVICE_NAME ?? SERVICE,
        natsUrl: config.NATS_URL,
        natsCredentials: natsCredentialsFrom(config),
        redisUrl: config.REDIS_URL,
        // Every stream, not only the tasks it consumes: it publishes run logs and results, and dead-letters.
        streams: allStreams(),
        logger,
        objectStore: config,
      }),
      HealthModule,
      AgentsModule.forRoot({ agentsDir: config.AGENTS_DIR, providers: config, rateLimitRules: (tenant) => rulesFor(config, tenant) }),
      MemoryAccessModule.forRoot({ recallTimeoutMs: config.MEMORY_RECALL_TIMEOUT_MS, tokenBudget: config.MEMORY_RECALL_TOKEN_BUDGET }),
      GuardAccessModule.forRoot({ policyTtlMs: config.GUARD_POLICY_TTL_MS }),
      TasksModule.forRoot({ ttlSeconds: config.TASK_TTL_SECONDS, consumer, approvalSweepIntervalMs: config.APPROVAL_SWEEP_INTERVAL_MS, egressAllowAddresses: config.EGRESS_ALLOW_ADDRESSES }),
    ],
  })
  class TaskWorkerModule {}
  return TaskWorkerModule;
}
