import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { UsageRecordSchema } from '@keelson/contracts';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { BudgetLedger } from '../budgets/budget-ledger';
import { BudgetStore } from '../budgets/budget-store';
import type { CostRequest } from '../request';
import { CallMeter } from './call-meter';

const request: CostRequest = { provider: 'openai', model: 'gpt-4o', messages: [{ role: 'user', content: 'Write a long story.' }] };
const chunk = ' hello'.repeat(50); // 50 o200k tokens: 500 micro-USD of gpt-4o output

describe('CallMeter against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let ledger: BudgetLedger;
  let store: BudgetStore;
  let n = 0;
  const ctx = () => ({ tenant: `m${++n}`, agentId: 'assistant', runId: `run_${n}`, callIndex: 0, traceId: 'trace' });

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    ledger = new BudgetLedger(redis);
    store = new BudgetStore(redis);
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('cuts a stream when the cap is crossed and still leaves one estimated record, charged exactly', async () => {
    const c = ctx();
    await store.set({ scope: { kind: 'tenant', tenant: c.tenant }, window: 'day', limitMicroUsd: 3_000 });
    const meter = new CallMeter(ledger, { initialOutputTokens: 100, checkEveryTokens: 100 });
    const begun = await meter.begin(c, request);
    assert.equal(begun.kind, 'metered');
    if (begun.kind !== 'metered') return;
    let cutAfter = 0;
    for (let i = 1; i <= 20; i++) {
      const check = await begun.call.onOutput(chunk);
      if (check?.kind === 'crossed') {
        cutAfter = i;
        assert.equal(check.budget.window, 'day');
        break;
      }
    }
    assert.ok(cutAfter > 2 && cutAfter < 8, `cut after ${cutAfter} chunks`);
    const record = await begun.call.finish({ status: 'truncated' });
    assert.equal(UsageRecordSchema.safeParse(record).success, true);
    assert.deepEqual([record.status, record.estimated, record.outputTokens], ['truncated', true, cutAfter * 50]);
    assert.equal(record.costMicroUsd, Math.ceil(record.inputTokens * 2.5 + record.outputTokens * 10));
    const [b] = await ledger.status(c.tenant);
    assert.deepEqual([b!.spentMicroUsd, b!.reservedMicroUsd], [record.costMicroUsd, 0]);
    await assert.rejects(begun.call.finish({ status: 'completed' }), /already finished/);
  });

  it('records the provider\'s usage when it came, refuses when no budget has room, and releases an abandoned call', async () => {
    const c = ctx();
    await store.set({ scope: { kind: 'agent', tenant: c.tenant, agentId: 'assistant' }, window: 'month', limitMicroUsd: 20_000 });
    const meter = new CallMeter(ledger);
    const first = await meter.begin(c, { ...request, maxOutputTokens: 500 });
    assert.equal(first.kind, 'metered');
    if (first.kind !== 'metered') return;
    await first.call.onOutput('Once upon a time');
    const record = await first.call.finish({ status: 'completed', usage: { inputTokens: 1_000, cachedInputTokens: 400, outputTokens: 800, totalTokens: 1_800 } });
    assert.deepEqual([record.estimated, record.costMicroUsd], [false, 600 * 2.5 + 400 * 1.25 + 800 * 10]);

    const big = await meter.begin({ ...c, callIndex: 1 }, { ...request, maxOutputTokens: 2_000 });
    assert.equal(big.kind, 'refused');
    if (big.kind === 'refused') assert.deepEqual([big.budget.scope, big.budget.scopeId, big.budget.spentMicroUsd], ['agent', 'assistant', 10_000]);

    const small = await meter.begin({ ...c, callIndex: 2 }, { ...request, maxOutputTokens: 100 });
    assert.equal(small.kind, 'metered');
    if (small.kind === 'metered') await small.call.abandon();
    const [b] = await ledger.status(c.tenant);
    assert.deepEqual([b!.spentMicroUsd, b!.reservedMicroUsd], [10_000, 0]);
  });
});
