import type { BudgetState } from './budget-types';

/**
 * Percent left (0-100) of the tightest budget among `budgets`, counting reservations in flight as used;
 * undefined when none applies. This is the router's `remainingBudgetPct`. A budget with a 0 limit counts as 0 %.
 */
export function remainingBudgetPct(budgets: readonly BudgetState[]): number | undefined {
  let least: number | undefined;
  for (const b of budgets) {
    const pct = b.limitMicroUsd === 0 ? 0 : (100 * b.remainingMicroUsd) / b.limitMicroUsd;
    least = least === undefined ? pct : Math.min(least, pct);
  }
  return least;
}

/** A message naming the budget a call was refused by, for the 402/429 body and the run's budget error. */
export function describeExceeded(budget: BudgetState, exceeded: 'cost' | 'tokens'): string {
  const who = budget.scope === 'tenant' ? 'tenant' : `${budget.scope} ${budget.scopeId}`;
  const left = exceeded === 'tokens' ? `${Math.max(0, (budget.tokenLimit ?? 0) - budget.spentTokens - budget.reservedTokens)} tokens` : `${(budget.remainingMicroUsd / 1e6).toFixed(6)} USD`;
  const reset = budget.resetsAt ? `; resets at ${budget.resetsAt}` : '; it does not reset';
  return `the ${budget.window} budget of the ${who} is exhausted (${left} left${reset})`;
}
