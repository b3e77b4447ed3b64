import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BudgetExceededError, type BudgetState } from '@keelson/contracts';
import type { BudgetDefinition, BudgetScope } from '@keelson/cost';
import { BudgetGate, firstExhausted } from './budget-gate';

const state = (over: Partial<BudgetState> & Pick<BudgetState, 'scope' | 'window'>): BudgetState => ({
  limitMicroUsd: 1_000_000,
  spentMicroUsd: 0,
  reservedMicroUsd: 0,
  remainingMicroUsd: 1_000_000,
  spentTokens: 0,
  reservedTokens: 0,
  ...over,
});

/** A store and ledger that count their calls. */
function fakes(defs: BudgetDefinition[], states: BudgetState[]) {
  const calls = { list: 0, status: [] as BudgetScope[][] };
  const store = { list: async () => (calls.list++, defs) };
  const ledger = { status: async (_tenant: string, scopes?: BudgetScope[]) => (calls.status.push(scopes ?? []), states) };
  return { store, ledger, calls };
}

describe('BudgetGate', () => {
  it('skips the ledger when the tenant has no budgets, and asks Redis for the definitions once per 5 s', async () => {
    let now = 0;
    const { store, ledger, calls } = fakes([], []);
    const gate = new BudgetGate(store, ledger, 5_000, () => now);
    await gate.check('acme', 'assistant', 'k1');
    await gate.check('acme', 'assistant', 'k1');
    assert.deepEqual([calls.list, calls.status.length], [1, 0]);
    now = 5_001;
    await gate.check('acme', 'assistant');
    assert.equal(calls.list, 2);
  });

  it('asks the ledger only about the call\'s scopes that have budgets', async () => {
    const defs: BudgetDefinition[] = [{ scope: { kind: 'agent', tenant: 'acme', agentId: 'writer' }, window: 'day', limitMicroUsd: 5 }];
    const { store, ledger, calls } = fakes(defs, []);
    const gate = new BudgetGate(store, ledger);
    await gate.check('acme', 'assistant', 'k1');
    assert.equal(calls.status.length, 0, 'no budget of this agent, key or the tenant');
    await gate.check('acme', 'writer', 'k1');
    assert.deepEqual(calls.status, [[{ kind: 'agent', tenant: 'acme', agentId: 'writer' }]]);
  });

  it('throws 402 budget_exceeded naming the first budget with nothing left', async () => {
    const defs: BudgetDefinition[] = [{ scope: { kind: 'tenant', tenant: 'acme' }, window: 'month', limitMicroUsd: 5 }];
    const empty = state({ scope: 'agent', scopeId: 'assistant', window: 'day', spentMicroUsd: 1_000_000, remainingMicroUsd: 0, resetsAt: '2026-11-28T00:00:00.000Z' });
    const { store, ledger } = fakes(defs, [state({ scope: 'tenant', window: 'month' }), empty]);
    const gate = new BudgetGate(store, ledger);
    await assert.rejects(gate.check('acme', 'assistant'), (err: unknown) => {
      assert.ok(err instanceof BudgetExceededError);
      assert.equal(err.status, 402);
      const body = err.toBody();
      assert.equal(body.error.code, 'budget_exceeded');
      assert.deepEqual(body.error.budget, empty);
      assert.match(body.error.message, /day budget of the agent assistant is exhausted .*resets at 2026-11-28T00:00:00.000Z/);
      return true;
    });
  });

  it('forgets a tenant\'s definitions on demand (after a change through the API)', async () => {
    const defs: BudgetDefinition[] = [];
    const { store, ledger, calls } = fakes(defs, []);
    const gate = new BudgetGate(store, ledger);
    await gate.check('acme', 'assistant');
    gate.forget('acme');
    await gate.check('acme', 'assistant');
    assert.equal(calls.list, 2);
  });

  it('does not remember a failed read', async () => {
    let fail = true;
    let lists = 0;
    const store = { list: async () => { lists++; if (fail) throw new Error('redis down'); return []; } };
    const gate = new BudgetGate(store, { status: async () => [] });
    await assert.rejects(gate.check('acme', 'assistant'), /redis down/);
    fail = false;
    await gate.check('acme', 'assistant');
    assert.equal(lists, 2);
  });
});

describe('firstExhausted', () => {
  it('orders tenant, agent, key and day, month, total, and counts a used-up token cap', () => {
    const keyDay = state({ scope: 'key', scopeId: 'k1', window: 'day', remainingMicroUsd: 0 });
    const agentTotal = state({ scope: 'agent', scopeId: 'a', window: 'total', tokenLimit: 100, spentTokens: 60, reservedTokens: 40 });
    const tenantMonth = state({ scope: 'tenant', window: 'month', remainingMicroUsd: 0 });
    const tenantDay = state({ scope: 'tenant', window: 'day' });
    assert.deepEqual(firstExhausted([keyDay, agentTotal, tenantMonth, tenantDay]), { budget: tenantMonth, exceeded: 'cost' });
    assert.deepEqual(firstExhausted([keyDay, agentTotal]), { budget: agentTotal, exceeded: 'tokens' });
    assert.equal(firstExhausted([tenantDay, state({ scope: 'agent', scopeId: 'a', window: 'day', tokenLimit: 100, spentTokens: 99 })]), undefined);
  });
});
