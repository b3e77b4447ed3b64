import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { BudgetLedger } from './budget-ledger';
import { BudgetStore } from './budget-store';
import { scopesFor, type BudgetScope } from './budget-types';
import { windowAt } from './windows';

const connect = async (url: string) => {
  const c = createClient({ url });
  await c.connect();
  return c;
};
type Client = Awaited<ReturnType<typeof connect>>;

describe('BudgetLedger against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: Client;
  let ledger: BudgetLedger;
  let store: BudgetStore;
  let n = 0;
  const tenant = () => `t${++n}`;
  const rid = () => `res_${n}_${Math.random().toString(36).slice(2)}`;

  before(async () => {
    server = await startRedis();
    redis = await connect(server.url);
    ledger = new BudgetLedger(redis);
    store = new BudgetStore(redis);
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('reserves on every budget, settles at the actual cost (even above the estimate), releases', async () => {
    const t = tenant();
    await store.set({ scope: { kind: 'tenant', tenant: t }, window: 'month', limitMicroUsd: 10_000 });
    await store.set({ scope: { kind: 'agent', tenant: t, agentId: 'a' }, window: 'day', limitMicroUsd: 5_000 });
    const scopes = scopesFor({ tenant: t, agentId: 'a' });
    const r1 = rid();
    assert.equal((await ledger.reserve({ scopes, estimateMicroUsd: 1_000, reservationId: r1, ttlMs: 60_000 })).kind, 'reserved');
    let status = await ledger.status(t);
    assert.deepEqual(status.map((b) => [b.scope, b.window, b.reservedMicroUsd, b.remainingMicroUsd]), [
      ['tenant', 'month', 1_000, 9_000],
      ['agent', 'day', 1_000, 4_000],
    ]);
    assert.deepEqual(await ledger.settle(t, r1, 1_500, 300), { kind: 'settled' });
    assert.deepEqual(await ledger.settle(t, r1, 1_500), { kind: 'already', state: 'settled' }, 'settling twice charges once');
    const r2 = rid();
    await ledger.reserve({ scopes, estimateMicroUsd: 2_000, reservationId: r2, ttlMs: 60_000 });
    assert.deepEqual(await ledger.release(t, r2), { kind: 'released' });
    status = await ledger.status(t);
    assert.deepEqual(status.map((b) => [b.spentMicroUsd, b.reservedMicroUsd, b.spentTokens]), [[1_500, 0, 300], [1_500, 0, 300]]);
  });

  it('refuses naming the first short budget, with remaining and reset time, and reserves nothing', async () => {
    const t = tenant();
    await store.set({ scope: { kind: 'tenant', tenant: t }, window: 'month', limitMicroUsd: 10_000 });
    await store.set({ scope: { kind: 'key', tenant: t, apiKeyId: 'k1' }, window: 'day', limitMicroUsd: 3_000 });
    const scopes = scopesFor({ tenant: t, agentId: 'a', apiKeyId: 'k1' });
    await ledger.reserve({ scopes, estimateMicroUsd: 2_500, reservationId: rid(), ttlMs: 60_000 });
    const refused = await ledger.reserve({ scopes, estimateMicroUsd: 1_000, reservationId: rid(), ttlMs: 60_000 });
    assert.equal(refused.kind, 'refused');
    if (refused.kind !== 'refused') return;
    assert.equal(refused.exceeded, 'cost');
    const { budget } = refused;
    assert.deepEqual([budget.scope, budget.scopeId, budget.window, budget.limitMicroUsd, budget.reservedMicroUsd, budget.remainingMicroUsd], ['key', 'k1', 'day', 3_000, 2_500, 500]);
    assert.equal(budget.resetsAt, new Date(windowAt('day', Date.now()).resetsAtMs!).toISOString());
    const tenantBudget = (await ledger.status(t, [{ kind: 'tenant', tenant: t }]))[0]!;
    assert.equal(tenantBudget.reservedMicroUsd, 2_500, 'the refused call reserved nothing on the tenant budget either');
    assert.equal(tenantBudget.resetsAt, new Date(windowAt('month', Date.now()).resetsAtMs!).toISOString());
  });

  it('enforces a token cap, and a reservation id is never reserved twice', async () => {
    const t = tenant();
    await store.set({ scope: { kind: 'tenant', tenant: t }, window: 'total', limitMicroUsd: 1_000_000, tokenLimit: 1_000 });
    const scopes = scopesFor({ tenant: t });
    const id = rid();
    assert.equal((await ledger.reserve({ scopes, estimateMicroUsd: 0, estimateTokens: 800, reservationId: id, ttlMs: 60_000 })).kind, 'reserved');
    assert.deepEqual(await ledger.reserve({ scopes, estimateMicroUsd: 0, estimateTokens: 800, reservationId: id, ttlMs: 60_000 }), { kind: 'exists', state: 'held' });
    const refused = await ledger.reserve({ scopes, estimateMicroUsd: 0, estimateTokens: 300, reservationId: rid(), ttlMs: 60_000 });
    assert.equal(refused.kind === 'refused' && refused.exceeded, 'tokens');
    assert.equal(refused.kind === 'refused' && refused.budget.resetsAt, undefined, 'a total budget never resets');
  });

  it('releases a crashed caller\'s reservation after its TTL, and still records its late spend', async () => {
    const t = tenant();
    await store.set({ scope: { kind: 'tenant', tenant: t }, window: 'day', limitMicroUsd: 1_000 });
    const scopes = scopesFor({ tenant: t });
    const id = rid();
    await ledger.reserve({ scopes, estimateMicroUsd: 900, reservationId: id, ttlMs: 30 });
    assert.equal((await ledger.reserve({ scopes, estimateMicroUsd: 500, reservationId: rid(), ttlMs: 60_000 })).kind, 'refused');
    await sleep(60);
    const next = rid();
    assert.equal((await ledger.reserve({ scopes, estimateMicroUsd: 500, reservationId: next, ttlMs: 60_000 })).kind, 'reserved', 'the expired reservation was swept');
    assert.deepEqual(await ledger.settle(t, id, 200), { kind: 'settled_late' });
    const [b] = await ledger.status(t);
    assert.deepEqual([b!.spentMicroUsd, b!.reservedMicroUsd], [200, 500]);
    assert.deepEqual(await ledger.release(t, 'never-made'), { kind: 'unknown' });
  });

  it('grows a reservation mid-stream while there is room, then reports the cap crossed', async () => {
    const t = tenant();
    await store.set({ scope: { kind: 'agent', tenant: t, agentId: 'a' }, window: 'day', limitMicroUsd: 1_000 });
    const scopes = scopesFor({ tenant: t, agentId: 'a' });
    const id = rid();
    await ledger.reserve({ scopes, estimateMicroUsd: 300, reservationId: id, ttlMs: 60_000 });
    assert.deepEqual(await ledger.checkMidStream(t, id, 200), { kind: 'ok', heldMicroUsd: 300 });
    assert.deepEqual(await ledger.checkMidStream(t, id, 900, { extendTtlMs: 60_000 }), { kind: 'ok', heldMicroUsd: 900 });
    const crossed = await ledger.checkMidStream(t, id, 1_100);
    assert.equal(crossed.kind, 'crossed');
    if (crossed.kind === 'crossed') assert.deepEqual([crossed.budget.scopeId, crossed.budget.reservedMicroUsd, crossed.budget.remainingMicroUsd], ['a', 900, 100]);
    await ledger.settle(t, id, 1_000);
    assert.deepEqual(await ledger.checkMidStream(t, id, 10), { kind: 'not_held', state: 'settled' });
  });

  it('holds one cap across 8 clients on separate connections: spent + reserved never exceeds it', async () => {
    const t = tenant();
    const CAP = 100_000;
    await store.set({ scope: { kind: 'tenant', tenant: t }, window: 'day', limitMicroUsd: CAP });
    const scopes: BudgetScope[] = scopesFor({ tenant: t, agentId: 'a' });
    const clients: Client[] = [];
    for (let i = 0; i < 8; i++) clients.push(await connect(server.url));
    let settledSum = 0;
    let refusals = 0;
    let worst = 0;
    let running = true;
    const monitor = (async () => {
      while (running) {
        const [b] = await ledger.status(t);
        worst = Math.max(worst, b!.spentMicroUsd + b!.reservedMicroUsd);
        await sleep(1);
      }
    })();
    await Promise.all(
      clients.map(async (c, ci) => {
        const mine = new BudgetLedger(c);
        for (let i = 0; i < 150; i++) {
          const id = `h${ci}_${i}`;
          const estimate = 200 + ((ci * 7919 + i * 104729) % 1_800);
          const r = await mine.reserve({ scopes, estimateMicroUsd: estimate, reservationId: id, ttlMs: 60_000 });
          if (r.kind !== 'reserved') {
            refusals++;
            continue;
          }
          if (i % 5 === 0) {
            await mine.release(t, id);
          } else {
            const actual = estimate - (i % 3) * 50;
            if ((await mine.settle(t, id, actual)).kind === 'settled') settledSum += actual;
          }
        }
      }),
    );
    running = false;
    await monitor;
    await Promise.all(clients.map((c) => c.close()));
    const [b] = await ledger.status(t);
    assert.ok(worst <= CAP, `spent + reserved reached ${worst}, over the cap ${CAP}`);
    assert.equal(b!.reservedMicroUsd, 0, 'every reservation was settled or released');
    assert.equal(b!.spentMicroUsd, settledSum, 'spent is exactly the sum of what was settled');
    assert.ok(refusals > 0 && b!.spentMicroUsd > CAP * 0.9, `the cap was reached (spent ${b!.spentMicroUsd}, ${refusals} refusals)`);
  });
});
