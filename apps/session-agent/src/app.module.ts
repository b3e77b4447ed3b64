import { rulesFor } from '@keelson/cost';
import { Module, type Type } from '@nestjs/common';
import { allStreams, natsCredentialsFrom } from '@keelson/messaging';
import { AgentsModule, GuardAccessModule, HealthModule, InfraModule, MemoryAccessModule } from '@keelson/nest-kit';
import type { Logger } from '@keelson/observability';
import type { SessionAgentConfig } from './config';
import { InvokeModule } from './invoke/invoke.module';
import { SessionsModule } from './sessions/sessions.module';

export const SERVICE = 'session-agent';

export function createSessionAgentModule(config: SessionAgentConfig, logger: Logger): Type<unknown> {
  @Module({
    imports: [
      InfraModule.forRoot({
        serviceName: config.SERVICE_NAME ?? SERVICE,
        natsUrl: config.NATS_URL,
        natsCredentials: natsCredentialsFrom(config),
        redisUrl: config.REDIS_URL,
        // Every stream, not only the turns it consumes: it publishes to the run log, and provisioning is idempotent.
        streams: allStreams(),
        logger,
        objectStore: config,
      }),
      HealthModule,
      AgentsModule.forRoot({ agentsDir: config.AGENTS_DIR, providers: config, rateLimitRules: (tenant) => rulesFor(config, tenant) }),
      MemoryAccessModule.forRoot({ recallTimeoutMs: config.MEMORY_RECALL_TIMEOUT_MS, tokenBudget: config.MEMORY_RECALL_TOKEN_BUDGET }),
      GuardAccessModule.forRoot({ policyTtlMs: config.GUARD_POLICY_TTL_MS }),
      InvokeModule.forRoot({
        concurrency: config.INVOKE_CONCURRENCY,
        maxQueue: config.INVOKE_MAX_QUEUE,
        maxQueueWaitMs: config.INVOKE_MAX_QUEUE_WAIT_MS,
      }),
      SessionsModule.forRoot({ ttlSeconds: config.SESSION_TTL_SECONDS, maxMessages: config.SESSION_MAX_MESSAGES, egressAllowAddresses: config.EGRESS_ALLOW_ADDRESSES }),
    ],
  })
  class SessionAgentModule {}
  return SessionAgentModule;
}
