import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { BudgetState } from './budget-types';
import { describeExceeded, remainingBudgetPct } from './remaining';

const budget = (limit: number, remaining: number, extra: Partial<BudgetState> = {}): BudgetState => ({
  scope: 'tenant', window: 'day', limitMicroUsd: limit, spentMicroUsd: limit - remaining, reservedMicroUsd: 0, remainingMicroUsd: remaining, spentTokens: 0, reservedTokens: 0, ...extra,
});

describe('remainingBudgetPct and describeExceeded', () => {
  it('takes the tightest budget; none is undefined; a 0 limit is 0 %', () => {
    assert.equal(remainingBudgetPct([budget(1_000, 500), budget(10_000, 1_000)]), 10);
    assert.equal(remainingBudgetPct([]), undefined);
    assert.equal(remainingBudgetPct([budget(0, 0)]), 0);
  });

  it('names the budget, what is left and when it resets', () => {
    const b = budget(5_000_000, 1_250_000, { scope: 'agent', scopeId: 'assistant', window: 'month', resetsAt: '2026-12-01T00:00:00.000Z' });
    assert.equal(describeExceeded(b, 'cost'), 'the month budget of the agent assistant is exhausted (1.250000 USD left; resets at 2026-12-01T00:00:00.000Z)');
    assert.equal(describeExceeded(budget(1, 0, { window: 'total', tokenLimit: 100, spentTokens: 90 }), 'tokens'), 'the total budget of the tenant is exhausted (10 tokens left; it does not reset)');
  });
});
