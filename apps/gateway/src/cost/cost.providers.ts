import type { Provider } from '@nestjs/common';
import { BudgetLedger, BudgetStore, RateLimiter, RoutingTally } from '@keelson/cost';
import { NATS_CONNECTION, REDIS_CLIENT, type RedisClient } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';
import { BudgetGate } from './budget-gate';
import { GatewayAudit } from '../auditing/gateway-audit';
import { AuditTypes } from '@keelson/contracts';
import { BudgetsController } from './budgets.controller';
import type { RateLimitSettings } from '@keelson/cost';
import { RATE_LIMIT_SETTINGS } from './cost.tokens';
import { RateLimitGuard } from './rate-limit.guard';
import { UsageController } from './usage.controller';
import { UsageReader } from './usage-reader';

/** The cost routes: `/v1/budgets` and `/v1/usage`. They use AuthGuard, so they sit in the module that provides ApiKeys. */
export const costControllers = [BudgetsController, UsageController];

/**
 * The cost providers for the gateway's module (next to ApiKeys and AuthGuard, which the routes need): the rate
 * limiter and its guard, the budget store, ledger and pre-check gate, and the usage reader. Needs REDIS_CLIENT
 * and NATS_CONNECTION from InfraModule. `settings` is the gateway config (it contains `rateLimitConfig`).
 */
export function costProviders(settings: RateLimitSettings): Provider[] {
  return [
    ...rateLimitProviders(settings),
    { provide: BudgetStore, inject: [REDIS_CLIENT], useFactory: (redis: RedisClient) => new BudgetStore(redis) },
    { provide: BudgetLedger, inject: [REDIS_CLIENT], useFactory: (redis: RedisClient) => new BudgetLedger(redis) },
    {
      provide: BudgetGate,
      inject: [BudgetStore, BudgetLedger, GatewayAudit],
      useFactory: (store: BudgetStore, ledger: BudgetLedger, audit: GatewayAudit) =>
        new BudgetGate(store, ledger, undefined, undefined, ({ tenant, agentId, apiKeyId, error }) =>
          audit.noted({ tenant, type: AuditTypes.policyBudget, agentId, ...(apiKeyId ? { apiKeyId } : {}), data: { decision: 'refused', budget: error.budget, message: error.message } }),
        ),
    },
    { provide: UsageReader, inject: [NATS_CONNECTION], useFactory: (nats: NatsConnection) => new UsageReader(nats) },
    { provide: RoutingTally, inject: [REDIS_CLIENT], useFactory: (redis: RedisClient) => new RoutingTally(redis) },
  ];
}

/**
 * What RateLimitGuard needs, on its own: every authenticated controller uses the guard, so a module that
 * mounts one (tests included) provides these. Without a configured limit the guard never touches Redis.
 */
export function rateLimitProviders(settings: RateLimitSettings): Provider[] {
  return [
    { provide: RATE_LIMIT_SETTINGS, useValue: settings },
    { provide: RateLimiter, inject: [REDIS_CLIENT], useFactory: (redis: RedisClient) => new RateLimiter(redis) },
    RateLimitGuard,
  ];
}
