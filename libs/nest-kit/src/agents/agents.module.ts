import { Global, Inject, Module, type DynamicModule, type OnApplicationShutdown } from '@nestjs/common';
import type { ModelProviderSettings } from '@keelson/config';
import { BudgetLedger, BudgetStore, RateLimiter, type RateLimitRule, ResponseCache, RoutingTally, SessionPins } from '@keelson/cost';
import { AgentFileRegistry, AgentRegistry, ProviderRegistry, RoutingService, UsageMeter, agentRegistryFor, builtinAgents } from '@keelson/runtime';
import type { JetStreamPublisher, MessagingLogger } from '@keelson/messaging';
import type { RedisClient } from '../infra/redis';
import type { AuditSink } from '@keelson/audit';
import { AUDIT_TRAIL, JETSTREAM_PUBLISHER, REDIS_CLIENT, SERVICE_LOGGER } from '../infra/tokens';
import type { SettingsSecrets } from '@keelson/secrets';
import { providersFrom, startModelProviderSecrets } from './model-providers';

/** The model providers' keys (SettingsSecrets), fetched when the module initialises. */
export const MODEL_PROVIDER_KEYS = Symbol('MODEL_PROVIDER_KEYS');

export interface AgentsModuleOptions {
  /** A directory of agent files (AGENTS_DIR), watched and reloaded; unset serves the built-in agents. */
  agentsDir?: string | undefined;
  /** Real model providers to offer besides the offline model. */
  providers?: ModelProviderSettings;
  /** The tokens-per-minute limits each tenant's model calls are charged to (the gateway's rules). */
  rateLimitRules?: (tenant: string) => readonly RateLimitRule[];
}

/** Stops watching the agent directory and the provider keys when the app shuts down. */
class AgentFilesLifecycle implements OnApplicationShutdown {
  constructor(
    @Inject(AgentRegistry) private readonly agents: AgentRegistry,
    @Inject(MODEL_PROVIDER_KEYS) private readonly keys: SettingsSecrets,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    if (this.agents instanceof AgentFileRegistry) this.agents.close();
    await this.keys.stop();
  }
}

/**
 * The agents this replica can run and the model providers they run on: the agent files of `agentsDir`
 * when it is set (reloaded without a restart), else the built-in agents; the offline model plus the real
 * providers configured (see providersFrom), their keys from the secrets layer (files or Vault, refreshed
 * when they rotate; docs/secrets.md).
 * The classes themselves are the injection tokens; SERVICE_LOGGER (from InfraModule) logs reloads.
 * UsageMeter charges every model call to its budgets and publishes its usage record (needs Redis).
 * RoutingService chooses the models of agents that name a routing policy (session pins and budgets in Redis)
 * and keeps the exact response cache (ROUTE_PIN_TTL_SECONDS, RESPONSE_CACHE_TTL_SECONDS; 0 = no cache).
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
        {
          // Fetched before anything is served: a missing or unreadable key stops start-up, naming its setting.
          provide: MODEL_PROVIDER_KEYS,
          inject: [SERVICE_LOGGER],
          useFactory: (logger: MessagingLogger) => startModelProviderSecrets(options.providers ?? {}, logger),
        },
        {
          provide: ProviderRegistry,
          inject: [MODEL_PROVIDER_KEYS],
          useFactory: (keys: SettingsSecrets) => providersFrom(options.providers ?? {}, keys),
        },
        {
          provide: UsageMeter,
          inject: [REDIS_CLIENT, JETSTREAM_PUBLISHER, SERVICE_LOGGER, AUDIT_TRAIL],
          useFactory: (redis: RedisClient | null, publisher: JetStreamPublisher, logger: MessagingLogger, audit: AuditSink) => {
            if (!redis) throw new Error('model calls are metered against budgets in Redis: InfraModule was configured without REDIS_URL');
            const rules = options.rateLimitRules;
            return new UsageMeter({
              ledger: new BudgetLedger(redis),
              budgets: new BudgetStore(redis),
              publisher,
              logger,
              audit,
              ...(rules ? { rateLimits: { limiter: new RateLimiter(redis), rulesFor: rules } } : {}),
            });
          },
        },
        {
          provide: RoutingService,
          inject: [REDIS_CLIENT, AgentRegistry, SERVICE_LOGGER],
          useFactory: (redis: RedisClient | null, agents: AgentRegistry, logger: MessagingLogger) => {
            if (!redis) throw new Error('routing keeps session pins and the response cache in Redis: InfraModule was configured without REDIS_URL');
            const settings = options.providers ?? {};
            const cacheTtlSeconds = settings.RESPONSE_CACHE_TTL_SECONDS ?? 3_600;
            return new RoutingService({
              policies: agents,
              pins: new SessionPins(redis, { ttlSeconds: settings.ROUTE_PIN_TTL_SECONDS ?? 3_600 }),
              ledger: new BudgetLedger(redis),
              tally: new RoutingTally(redis),
              ...(cacheTtlSeconds > 0 ? { cache: new ResponseCache(redis, { ttlSeconds: cacheTtlSeconds }) } : {}),
              logger,
            });
          },
        },
        AgentFilesLifecycle,
      ],
      exports: [AgentRegistry, ProviderRegistry, UsageMeter, RoutingService],
    };
  }
}
