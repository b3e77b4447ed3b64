import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { UsageRecord } from '@keelson/contracts';
import { SpendWindow } from './spend-window';
import { BUCKET_MS } from './time-buckets';

const T0 = Date.parse('2026-11-27T10:00:00Z');

function usage(at: number, over: Partial<UsageRecord> = {}): UsageRecord {
  return {
    id: `usg_${'0'.repeat(32)}`,
    timestamp: new Date(at).toISOString(),
    tenant: 'dev',
    agentId: 'assistant',
    runId: 'run-1',
    callIndex: 0,
    apiKeyId: 'k1',
    provider: 'openai',
    model: 'gpt-4o-mini',
    inputTokens: 100,
    outputTokens: 20,
    cachedInputTokens: 0,
    costMicroUsd: 300,
    priceTableVersion: 'v1',
    unpriced: false,
    status: 'completed',
    estimated: false,
    ...over,
  };
}

describe('SpendWindow', () => {
  it('sums cost and tokens per tenant and model per step, largest spender first', () => {
    const w = new SpendWindow();
    w.add(usage(T0));
    w.add(usage(T0 + 1_000));
    w.add(usage(T0 + BUCKET_MS, { model: 'gpt-4o', costMicroUsd: 5_000 }));
    w.add(usage(T0, { tenant: 'acme' }));
    const series = w.series(T0, T0 + 2 * BUCKET_MS, BUCKET_MS);
    assert.deepEqual(series.map((s) => [s.tenant, s.model, s.totalMicroUsd, s.totalTokens]), [
      ['dev', 'gpt-4o', 5_000, 120],
      ['dev', 'gpt-4o-mini', 600, 240],
      ['acme', 'gpt-4o-mini', 300, 120],
    ]);
    assert.deepEqual(series[1]!.points.map((p) => p.costMicroUsd), [600, 0]);
    assert.deepEqual(w.series(T0, T0 + BUCKET_MS, BUCKET_MS, new Set(['acme'])).map((s) => s.tenant), ['acme']);
  });

  it('counts what each budget scope spent: tenant, agent and key', () => {
    const w = new SpendWindow();
    w.add(usage(T0));
    w.add(usage(T0, { agentId: 'researcher', apiKeyId: 'k2' }));
    w.add(usage(T0, { apiKeyId: undefined }));
    const to = T0 + BUCKET_MS;
    assert.equal(w.spent({ tenant: 'dev', scope: 'tenant' }, T0, to), 900);
    assert.equal(w.spent({ tenant: 'dev', scope: 'agent', scopeId: 'assistant' }, T0, to), 600);
    assert.equal(w.spent({ tenant: 'dev', scope: 'key', scopeId: 'k2' }, T0, to), 300);
    assert.equal(w.spent({ tenant: 'acme', scope: 'tenant' }, T0, to), 0);
    assert.equal(w.spent({ tenant: 'dev', scope: 'tenant' }, to, to + BUCKET_MS), 0, 'outside the range');
  });
});
