import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { usageRecord } from '@keelson/cost';
import { totalsOf } from './usage-totals';

const record = (agentId: string, model: string, callIndex: number, counts: { inputTokens: number; outputTokens: number; cachedInputTokens?: number }, estimated = false) =>
  usageRecord({ tenant: 'acme', agentId, runId: 'run1', callIndex, provider: model.startsWith('offline') ? 'offline' : 'openai', model, status: 'completed', estimated, ...counts });

describe('usage totals', () => {
  it('are all zero with no records', () => {
    assert.deepEqual(totalsOf([]), {
      calls: 0, inputTokens: 0, outputTokens: 0, cachedInputTokens: 0, costMicroUsd: 0, costUsd: 0, estimatedCalls: 0, unpricedCalls: 0, byModel: {}, byAgent: {},
    });
  });

  it('add up tokens and integer cost overall, per model and per agent', () => {
    const records = [
      record('a1', 'gpt-4o-mini', 0, { inputTokens: 1_000, outputTokens: 500, cachedInputTokens: 200 }),
      record('a1', 'gpt-4o', 1, { inputTokens: 2_000, outputTokens: 100 }, true),
      record('a2', 'gpt-4o-mini', 2, { inputTokens: 10, outputTokens: 10 }),
      record('a2', 'unknown-model-x', 3, { inputTokens: 7, outputTokens: 3 }),
    ];
    const totals = totalsOf(records);
    const cost = records.reduce((sum, r) => sum + r.costMicroUsd, 0);
    assert.ok(records[0]!.costMicroUsd > 0 && records[3]!.unpriced, 'fixture: priced and unpriced records');
    assert.equal(totals.calls, 4);
    assert.equal(totals.inputTokens, 3_017);
    assert.equal(totals.outputTokens, 613);
    assert.equal(totals.cachedInputTokens, 200);
    assert.equal(totals.costMicroUsd, cost);
    assert.equal(totals.costUsd, cost / 1_000_000);
    assert.equal(totals.estimatedCalls, 1);
    assert.equal(totals.unpricedCalls, 1);
    assert.deepEqual(Object.keys(totals.byModel).sort(), ['openai/gpt-4o', 'openai/gpt-4o-mini', 'openai/unknown-model-x']);
    assert.equal(totals.byModel['openai/gpt-4o-mini']!.calls, 2);
    assert.equal(totals.byModel['openai/gpt-4o-mini']!.costMicroUsd, records[0]!.costMicroUsd + records[2]!.costMicroUsd);
    assert.deepEqual(
      Object.fromEntries(Object.entries(totals.byAgent).map(([agent, sums]) => [agent, [sums.calls, sums.inputTokens, sums.costMicroUsd]])),
      { a1: [2, 3_000, records[0]!.costMicroUsd + records[1]!.costMicroUsd], a2: [2, 17, records[2]!.costMicroUsd] },
    );
  });

  it('keep a model named like an Object property as an ordinary key', () => {
    const totals = totalsOf([record('a1', '__proto__', 0, { inputTokens: 1, outputTokens: 1 })]);
    assert.deepEqual(Object.keys(totals.byModel), ['openai/__proto__']);
  });
});
