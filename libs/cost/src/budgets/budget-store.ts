import { budgetKeys, BUDGET_WINDOWS, parseScopeField, scopeField, type BudgetDefinition, type BudgetScope, type BudgetWindow } from './budget-types';

/** The Redis calls the store needs; node-redis satisfies it. */
export interface RedisHashes {
  hSet(key: string, field: string, value: string): Promise<unknown>;
  hGetAll(key: string): Promise<Record<string, string>>;
  hDel(key: string, field: string): Promise<unknown>;
}

/**
 * Budget definitions, one Redis hash per tenant (`<prefix>:{tenant}:defs`, field `<scope>|<window>`, value
 * JSON {limitMicroUsd, tokenLimit?}). The ledger's scripts read the same hash, so a change applies to the next
 * reservation on every replica, without a restart. Changing a limit keeps what was spent in the window.
 */
export class BudgetStore {
  private readonly prefix: string;

  constructor(private readonly redis: RedisHashes, options: { keyPrefix?: string } = {}) {
    this.prefix = options.keyPrefix ?? 'keelson:budget';
  }

  /** Creates or replaces the budget of one scope and window. */
  async set(def: BudgetDefinition): Promise<void> {
    if (!Number.isSafeInteger(def.limitMicroUsd) || def.limitMicroUsd < 0) throw new Error(`limitMicroUsd must be a non-negative integer, got ${def.limitMicroUsd}`);
    if (def.tokenLimit !== undefined && (!Number.isSafeInteger(def.tokenLimit) || def.tokenLimit < 0)) {
      throw new Error(`tokenLimit must be a non-negative integer, got ${def.tokenLimit}`);
    }
    if (!BUDGET_WINDOWS.includes(def.window)) throw new Error(`unknown budget window "${def.window}"`);
    const value = JSON.stringify({ limitMicroUsd: def.limitMicroUsd, ...(def.tokenLimit !== undefined ? { tokenLimit: def.tokenLimit } : {}) });
    await this.redis.hSet(budgetKeys(this.prefix, def.scope.tenant).definitions, `${scopeField(def.scope)}|${def.window}`, value);
  }

  /** Every budget of a tenant, tenant scope first, then agents, then keys. */
  async list(tenant: string): Promise<BudgetDefinition[]> {
    const all = await this.redis.hGetAll(budgetKeys(this.prefix, tenant).definitions);
    const order = { tenant: 0, agent: 1, key: 2 };
    return Object.entries(all)
      .map(([field, json]) => {
        const bar = field.lastIndexOf('|');
        const parsed = JSON.parse(json) as { limitMicroUsd: number; tokenLimit?: number };
        return { scope: parseScopeField(tenant, field.slice(0, bar)), window: field.slice(bar + 1) as BudgetWindow, ...parsed };
      })
      .sort((a, b) => order[a.scope.kind] - order[b.scope.kind] || scopeField(a.scope).localeCompare(scopeField(b.scope)) || BUDGET_WINDOWS.indexOf(a.window) - BUDGET_WINDOWS.indexOf(b.window));
  }

  /** Removes one budget; its counters stay until their window's keys expire. */
  async delete(scope: BudgetScope, window: BudgetWindow): Promise<void> {
    await this.redis.hDel(budgetKeys(this.prefix, scope.tenant).definitions, `${scopeField(scope)}|${window}`);
  }
}
