import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import { budgetAddressFrom, budgetDefinitionFrom, usdToMicro } from './budget-request';

const fieldOf = (fn: () => unknown): string | undefined => {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeelsonError, `expected a KeelsonError, got ${String(err)}`);
    assert.equal(err.status, 400);
    return err.field;
  }
  assert.fail('expected a 400');
};

describe('PUT /v1/budgets body', () => {
  it('turns USD into integer micro-USD without float noise', () => {
    assert.equal(usdToMicro(0.1), 100_000);
    assert.equal(usdToMicro(1.15), 1_150_000);
    assert.equal(usdToMicro(0.0000004), 0);
    assert.equal(usdToMicro(123456.789012), 123_456_789_012);
  });

  it('builds the definition of each scope', () => {
    assert.deepEqual(budgetDefinitionFrom('acme', { scope: 'tenant', window: 'month', limitUsd: 25.5 }), {
      scope: { kind: 'tenant', tenant: 'acme' },
      window: 'month',
      limitMicroUsd: 25_500_000,
    });
    assert.deepEqual(budgetDefinitionFrom('acme', { scope: 'agent', scopeId: 'assistant', window: 'day', limitUsd: 0, tokenLimit: 1000 }), {
      scope: { kind: 'agent', tenant: 'acme', agentId: 'assistant' },
      window: 'day',
      limitMicroUsd: 0,
      tokenLimit: 1000,
    });
    assert.deepEqual(budgetDefinitionFrom('acme', { scope: 'key', scopeId: 'key-1', window: 'total', limitUsd: 3 }).scope, {
      kind: 'key',
      tenant: 'acme',
      apiKeyId: 'key-1',
    });
  });

  it('answers 400 naming the field at fault', () => {
    const cases: [unknown, string][] = [
      [{ scope: 'agent', window: 'day', limitUsd: 1 }, 'scopeId'],
      [{ scope: 'key', window: 'day', limitUsd: 1 }, 'scopeId'],
      [{ scope: 'tenant', scopeId: 'x', window: 'day', limitUsd: 1 }, 'scopeId'],
      [{ scope: 'agent', scopeId: 'Not.An.Agent', window: 'day', limitUsd: 1 }, 'scopeId'],
      [{ scope: 'tenant', window: 'day', limitUsd: -1 }, 'limitUsd'],
      [{ scope: 'tenant', window: 'day', limitUsd: '5' }, 'limitUsd'],
      [{ scope: 'tenant', window: 'day' }, 'limitUsd'],
      [{ scope: 'tenant', window: 'week', limitUsd: 1 }, 'window'],
      [{ scope: 'team', window: 'day', limitUsd: 1 }, 'scope'],
      [{ scope: 'tenant', window: 'day', limitUsd: 1, tokenLimit: 2.5 }, 'tokenLimit'],
      [{ scope: 'tenant', window: 'day', limitUsd: 1, extra: true }, 'extra'],
    ];
    for (const [body, field] of cases) assert.equal(fieldOf(() => budgetDefinitionFrom('acme', body)), field, JSON.stringify(body));
  });
});

describe('DELETE /v1/budgets/{scope}/{window}', () => {
  it('reads the scope, window and scopeId, or answers 400 naming the bad one', () => {
    assert.deepEqual(budgetAddressFrom('acme', 'agent', 'day', 'assistant'), { scope: { kind: 'agent', tenant: 'acme', agentId: 'assistant' }, window: 'day' });
    assert.deepEqual(budgetAddressFrom('acme', 'tenant', 'total', undefined), { scope: { kind: 'tenant', tenant: 'acme' }, window: 'total' });
    assert.equal(fieldOf(() => budgetAddressFrom('acme', 'team', 'day', undefined)), 'scope');
    assert.equal(fieldOf(() => budgetAddressFrom('acme', 'tenant', 'week', undefined)), 'window');
    assert.equal(fieldOf(() => budgetAddressFrom('acme', 'key', 'day', undefined)), 'scopeId');
    assert.equal(fieldOf(() => budgetAddressFrom('acme', 'tenant', 'day', 'x')), 'scopeId');
  });
});
