import { BudgetExceededError, type BudgetState } from '@keelson/contracts';
import { describeExceeded, scopeField, scopesFor, type BudgetLedger, type BudgetScope, type BudgetStore } from '@keelson/cost';
import { metricsRegistry } from '@keelson/observability';

/** How long a replica trusts what it last read of a tenant's budget definitions. */
export const BUDGET_DEFINITIONS_TTL_MS = 5_000;

const SCOPE_ORDER = { tenant: 0, agent: 1, key: 2 } as const;
const WINDOW_ORDER = { day: 0, month: 1, total: 2 } as const;

interface CachedDefinitions {
  /** Scope fields (`tenant`, `agent:<id>`, `key:<id>`) that have at least one budget. */
  scopes: Promise<Set<string>>;
  expiresAt: number;
}

/** The first budget with no room left (tenant, then agent, then key; day, then month, then total), if any. */
export function firstExhausted(states: readonly BudgetState[]): { budget: BudgetState; exceeded: 'cost' | 'tokens' } | undefined {
  const ordered = [...states].sort(
    (a, b) => SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] || WINDOW_ORDER[a.window] - WINDOW_ORDER[b.window],
  );
  for (const budget of ordered) {
    if (budget.remainingMicroUsd <= 0) return { budget, exceeded: 'cost' };
    if (budget.tokenLimit !== undefined && budget.spentTokens + budget.reservedTokens >= budget.tokenLimit) return { budget, exceeded: 'tokens' };
  }
  return undefined;
}

/**
 * The gateway's budget pre-check for calls that spend (invoke, chat completions, session messages, tasks):
 * refuses with 402 `budget_exceeded` when a budget of the tenant, the agent or the API key has no room left,
 * before anything is queued or a model is called. It is a fast refusal, not the enforcement: the agent runtime
 * reserves every model call in the ledger, atomically, and that is what holds the cap.
 *
 * To keep the hot path cheap, each replica remembers for 5 s which scopes of a tenant have budgets at all
 * (one HGETALL), and skips the ledger's status script when the call's scopes have none. So a budget created
 * on another replica is pre-checked here up to 5 s late (the ledger enforces it at once); a change made
 * through this replica's API is seen at once (`forget`).
 *
 * Built by `costProviders` (a factory provider), so a test can give it a clock and a TTL.
 */
export class BudgetGate {
  private readonly cache = new Map<string, CachedDefinitions>();

  constructor(
    private readonly store: Pick<BudgetStore, 'list'>,
    private readonly ledger: Pick<BudgetLedger, 'status'>,
    private readonly ttlMs = BUDGET_DEFINITIONS_TTL_MS,
    private readonly now: () => number = Date.now,
    /** Told of each refusal (the gateway records it as a policy.budget audit event). */
    private readonly onRefused?: (refusal: { tenant: string; agentId: string; apiKeyId?: string; error: BudgetExceededError }) => Promise<void>,
  ) {}

  async check(tenant: string, agentId: string, apiKeyId?: string): Promise<void> {
    const defined = await this.definedScopes(tenant);
    if (defined.size === 0) return;
    const scopes = scopesFor({ tenant, agentId, ...(apiKeyId ? { apiKeyId } : {}) }).filter((s: BudgetScope) => defined.has(scopeField(s)));
    if (scopes.length === 0) return;
    const refusal = firstExhausted(await this.ledger.status(tenant, scopes));
    if (!refusal) return;
    const error = new BudgetExceededError(refusal.budget, describeExceeded(refusal.budget, refusal.exceeded));
    metricsRegistry().counter('budgetRefusals').inc({ tenant, scope: refusal.budget.scope, window: refusal.budget.window });
    await this.onRefused?.({ tenant, agentId, ...(apiKeyId ? { apiKeyId } : {}), error });
    throw error;
  }

  /** Drops what this replica remembers of a tenant's budgets (after a change through the operator API). */
  forget(tenant: string): void {
    this.cache.delete(tenant);
  }

  private definedScopes(tenant: string): Promise<Set<string>> {
    const now = this.now();
    const cached = this.cache.get(tenant);
    if (cached && cached.expiresAt > now) return cached.scopes;
    if (this.cache.size > 10_000) this.prune(now);
    const scopes = this.store.list(tenant).then((defs) => new Set(defs.map((d) => scopeField(d.scope))));
    const entry = { scopes, expiresAt: now + this.ttlMs };
    this.cache.set(tenant, entry);
    // A failed read is not remembered: the next call tries again.
    scopes.catch(() => {
      if (this.cache.get(tenant) === entry) this.cache.delete(tenant);
    });
    return scopes;
  }

  private prune(now: number): void {
    for (const [tenant, entry] of this.cache) if (entry.expiresAt <= now) this.cache.delete(tenant);
  }
}
