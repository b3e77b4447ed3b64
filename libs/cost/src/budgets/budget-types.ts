import type { BudgetState } from '@keelson/contracts';

export type { BudgetState } from '@keelson/contracts';

/** Who a budget limits: a whole tenant, one agent of a tenant, or one API key of a tenant. */
export type BudgetScope =
  | { kind: 'tenant'; tenant: string }
  | { kind: 'agent'; tenant: string; agentId: string }
  | { kind: 'key'; tenant: string; apiKeyId: string };

/** UTC calendar windows: `day` resets at 00:00 UTC, `month` on the 1st at 00:00 UTC, `total` never. */
export type BudgetWindow = 'day' | 'month' | 'total';
export const BUDGET_WINDOWS: readonly BudgetWindow[] = ['day', 'month', 'total'];

/** A hard cap: nothing is reserved past it. */
export interface BudgetDefinition {
  scope: BudgetScope;
  window: BudgetWindow;
  limitMicroUsd: number;
  /** Also cap tokens (input + output), e.g. for models the price table does not know (they cost 0). */
  tokenLimit?: number;
}

/** A call refused or cut by a budget: the first budget (scope order as given, then day, month, total) that is short. */
export interface BudgetExceeded {
  budget: BudgetState;
  /** Which cap is short: the USD cap or the token cap. */
  exceeded: 'cost' | 'tokens';
}

/** The scope as it is written into Redis field names: `tenant`, `agent:<id>` or `key:<id>`; the tenant is in the key. */
export function scopeField(scope: BudgetScope): string {
  if (scope.kind === 'agent') return `agent:${scope.agentId}`;
  if (scope.kind === 'key') return `key:${scope.apiKeyId}`;
  return 'tenant';
}

/** Reads a scope back from its field form, for a tenant. */
export function parseScopeField(tenant: string, field: string): BudgetScope {
  if (field.startsWith('agent:')) return { kind: 'agent', tenant, agentId: field.slice(6) };
  if (field.startsWith('key:')) return { kind: 'key', tenant, apiKeyId: field.slice(4) };
  return { kind: 'tenant', tenant };
}

/** The scopes that apply to one call: always the tenant, plus its agent and API key when known. */
export function scopesFor(call: { tenant: string; agentId?: string; apiKeyId?: string }): BudgetScope[] {
  const scopes: BudgetScope[] = [{ kind: 'tenant', tenant: call.tenant }];
  if (call.agentId) scopes.push({ kind: 'agent', tenant: call.tenant, agentId: call.agentId });
  if (call.apiKeyId) scopes.push({ kind: 'key', tenant: call.tenant, apiKeyId: call.apiKeyId });
  return scopes;
}

/** Redis keys of one tenant's budgets; every key carries the `{tenant}` hash tag, so scripts stay on one Cluster slot. */
export function budgetKeys(prefix: string, tenant: string) {
  const base = `${prefix}:{${tenant}}`;
  return {
    base,
    definitions: `${base}:defs`,
    expiry: `${base}:expiry`,
    reservation: (reservationId: string) => `${base}:r:${reservationId}`,
  };
}
