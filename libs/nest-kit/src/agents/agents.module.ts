import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { ModelProviderSettings } from '@keelson/config';
import { BudgetLedger, BudgetStore, RateLimiter, type RateLimitRule } from '@keelson/cost';
import { AgentFileRegistry, AgentRegistry, ProviderRegistry, UsageMeter, agentRegistryFor, builtinAgents } from '@keelson/runtime';
import type { JetStreamPublisher, MessagingLogger } from '@keelson/messaging';
import type { RedisClient } from '../infra/redis';
import { JETSTREAM_PUBLISHER, REDIS_CLIENT, SERVICE_LOGGER } from '../infra/tokens';
import { providersFrom } from './model-providers';

export interface AgentsModuleOptions {
  /** A directory of agent files (AGENTS_DIR), watched and reloaded; unset serves the built-in agents. */
  agentsDir?: string | undefined;
  /** Real model providers to offer besides the offline model. */
  providers?: ModelProviderSettings;
  /** The tokens-per-minute limits each tenant's model calls are charged to (the gateway's rules). */
  rateLimitRules?: (tenant: string) => readonly RateLimitRule[];
}

/** Stops watching the agent directory when the app shuts down. */
class AgentFilesLifecycle implements OnApplicationShutdown {
  constructor(@Inject(AgentRegistry) private readonly agents: AgentRegistry) {}

  onApplicationShutdown(): void {
    if (this.agents instanceof AgentFileRegistry) this.agents.close();
  }
}

/**
 * The agents this replica can run and the model providers they run on: the agent files of `agentsDir`
 * when it is set (reloaded without a restart), else the built-in agents; the offline model plus the real
 * providers configured (see providersFrom).
 * The classes themselves are the injection tokens; SERVICE_LOGGER (from InfraModule) logs reloads.
 * UsageMeter charges every model call to its budgets and publishes its usage record (needs Redis).
 */
@Global()
@Module({})
export class AgentsModule {
  static forRoot(options: AgentsModuleOptions = {}): DynamicModule {
    return {
      module: AgentsModule,
      global: true,
      providers: [
        {
          provide: AgentRegistry,
          inject: [SERVICE_LOGGER],
          useFactory: (logger: MessagingLogger) => agentRegistryFor(options.agentsDir, builtinAgents, { logger }),
        },
        { provide: ProviderRegistry, useFactory: () => providersFrom(options.providers ?? {}) },
        {
          provide: UsageMeter,
          inject: [REDIS_CLIENT, JETSTREAM_PUBLISHER, SERVICE_LOGGER],
          useFactory: (redis: RedisClient | null, publisher: JetStreamPublisher, logger: MessagingLogger) => {
            if (!redis) throw new Error('model calls are metered against budgets in Redis: InfraModule was configured without REDIS_URL');
            const rules = options.rateLimitRules;
            return new UsageMeter({
              ledger: new BudgetLedger(redis),
              budgets: new BudgetStore(redis),
              publisher,
              logger,
              ...(rules ? { rateLimits: { limiter: new RateLimiter(redis), rulesFor: rules } } : {}),
            });
          },
        },
        AgentFilesLifecycle,
      ],
      exports: [AgentRegistry, ProviderRegistry, UsageMeter],
    };
  }
}
