import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { ErrorCodes, type Rollout } from '@keelson/contracts';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { RolloutControl, RolloutStore, newGeneration, type RolloutRedis } from './rollout-store';

describe('RolloutStore and RolloutControl against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let store: RolloutStore;
  let n = 0;

  const start = async (over: Partial<Rollout> = {}): Promise<Rollout> => {
    const agentId = `agent-${++n}`;
    const now = new Date().toISOString();
    const created = await store.compareAndSet(undefined, {
      agentId,
      stable: '1',
      canary: '2',
      canaryShare: 0.5,
      thresholds: { maxErrorRate: 0.1, maxCostPerRunMicroUsd: 1_000, minRuns: 20 },
      state: 'running',
      pins: {},
      generation: newGeneration(),
      startedAt: now,
      updatedAt: now,
      ...over,
    });
    assert.ok(created, 'a new rollout is written');
    return created;
  };

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    store = new RolloutStore(redis as unknown as RolloutRedis);
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('writes a change only over the revision it read', async () => {
    const r = await start();
    assert.equal(r.revision, 0);
    const { revision: _r, ...rest } = r;
    assert.equal(await store.compareAndSet(undefined, rest), undefined, 'a second create loses');
    const next = await store.compareAndSet(r, { ...rest, canaryShare: 0.2 });
    assert.equal(next?.revision, 1);
    assert.equal(await store.compareAndSet(r, { ...rest, canaryShare: 0.3 }), undefined, 'a write over a stale revision loses');
    assert.equal((await store.get(r.agentId))?.canaryShare, 0.2);
  });

  it('rolls back exactly when the canary crosses a threshold after minRuns, and not before', async () => {
    const r = await start();
    for (let i = 0; i < 19; i++) await store.record(r.agentId, r.generation, '2', false, 10);
    assert.equal(await store.evaluate(r.agentId), undefined, '19 runs, all failed: below minRuns, no judgement');
    await store.record(r.agentId, r.generation, '2', true, 10);
    // 20 runs, 19 failed: now judged.
    const done = await store.evaluate(r.agentId);
    assert.equal(done?.rollout.state, 'rolled_back');
    assert.equal(done?.rollout.canaryShare, 0);
    assert.equal(done?.verdict.canary.runs, 20);
    assert.equal(done?.verdict.canary.failures, 19);
    assert.match(done?.rollout.reason ?? '', /automatic rollback: error rate 95\.0% above 10\.0%/);
    assert.equal((await store.get(r.agentId))?.state, 'rolled_back');
    assert.equal(await store.evaluate(r.agentId), undefined, 'a rolled-back rollout is not judged again');
  });

  it('keeps a healthy canary running, and rolls back on cost per run', async () => {
    const healthy = await start();
    for (let i = 0; i < 40; i++) await store.record(healthy.agentId, healthy.generation, '2', i % 20 !== 0, 1_000);
    assert.equal(await store.evaluate(healthy.agentId), undefined, '2 of 40 failed (5%), 1000 micro-USD a run: within both thresholds');
    const costly = await start();
    for (let i = 0; i < 20; i++) await store.record(costly.agentId, costly.generation, '2', true, 1_500);
    const done = await store.evaluate(costly.agentId);
    assert.deepEqual(done?.verdict.reasons, ['cost per run 1500 micro-USD above 1000']);
    const counts = await store.outcomes(costly);
    assert.deepEqual([counts.canary.runs, counts.canary.costMicroUsd, counts.stable.runs], [20, 30_000, 0]);
  });

  it('acts once when many evaluators judge the same rollout at the same time', async () => {
    const r = await start();
    for (let i = 0; i < 20; i++) await store.record(r.agentId, r.generation, '2', false, 0);
    const evaluators = Array.from({ length: 8 }, () => new RolloutStore(redis as unknown as RolloutRedis));
    const results = await Promise.all(evaluators.map((e) => e.evaluate(r.agentId)));
    assert.equal(results.filter(Boolean).length, 1, `exactly one evaluator rolls back; got ${results.filter(Boolean).length}`);
    assert.equal((await store.get(r.agentId))?.revision, r.revision + 1);
  });

  it('counts outcomes per generation: a new rollout starts from zero', async () => {
    const r = await start();
    await store.record(r.agentId, r.generation, '2', false, 5);
    const { revision: _r, ...rest } = r;
    const restarted = await store.compareAndSet(r, { ...rest, generation: newGeneration() });
    assert.ok(restarted);
    assert.equal((await store.outcomes(restarted)).canary.runs, 0);
  });

  it('gives every replica the kill switches and rollouts from one snapshot, and refuses with the right code', async () => {
    const r = await start({ canaryShare: 1 });
    const control = new RolloutControl(store, { refreshMs: 50 });
    await control.start();
    try {
      assert.equal(control.refusal('dev', r.agentId), undefined);
      assert.equal(control.choose(r.agentId, 'dev', 'ses_1')?.version, '2');
      await store.setKillSwitch('agent', r.agentId, 'incident 42', 'key-ops');
      await store.setKillSwitch('tenant', 'acme', 'unpaid');
      await control.refresh();
      assert.equal(control.refusal('dev', r.agentId)?.code, ErrorCodes.agentDisabled);
      assert.match(control.refusal('dev', r.agentId)?.message ?? '', /incident 42/);
      assert.equal(control.refusal('acme', 'anything')?.code, ErrorCodes.tenantSuspended);
      assert.equal(control.refusal('acme', 'anything')?.status, 503);
      assert.deepEqual((await store.listKillSwitches()).map((s) => `${s.kind}:${s.id}`), [`agent:${r.agentId}`, 'tenant:acme']);
      assert.equal((await store.clearKillSwitch('agent', r.agentId))?.reason, 'incident 42');
      assert.equal(await store.clearKillSwitch('agent', r.agentId), undefined, 'clearing twice finds nothing');
      await store.clearKillSwitch('tenant', 'acme');
      await control.refresh();
      assert.equal(control.refusal('acme', r.agentId), undefined);
    } finally {
      control.stop();
    }
  });
});
