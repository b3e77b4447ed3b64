import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { ApprovalStore } from './approval-store';

const pending = { runId: 'tsk_1', agentId: 'a', attempt: 1, callId: 'call_1', toolName: 'http_fetch', state: '{"x":1}' };

describe('ApprovalStore against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let store: ApprovalStore;
  let n = 0;
  const newId = () => `apr_test${++n}`;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    store = new ApprovalStore(redis, { retentionSeconds: 60 });
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('saves a pending approval once, and reads it back', async () => {
    const id = newId();
    const first = await store.savePending('dev', id, pending, 60_000);
    assert.equal(first.created, true);
    const again = await store.savePending('dev', id, { ...pending, state: '{"x":2}' }, 60_000);
    assert.deepEqual(again, { created: false, status: 'pending', expiresAt: first.expiresAt });
    const rec = await store.get('dev', id);
    assert.equal(rec?.status, 'pending');
    assert.equal(rec?.state, '{"x":1}');
    assert.equal(rec?.attempt, 1);
    assert.equal(rec?.expired, false);
  });

  it('takes the first decision only; unknown and other tenants are missing', async () => {
    const id = newId();
    await store.savePending('dev', id, pending, 60_000);
    assert.deepEqual(await store.decide('acme', id, true), { kind: 'missing' });
    assert.deepEqual(await store.decide('dev', id, false, 'no thanks'), { kind: 'ok' });
    assert.deepEqual(await store.decide('dev', id, true), { kind: 'decided', status: 'rejected' });
    const rec = await store.get('dev', id);
    assert.equal(rec?.status, 'rejected');
    assert.equal(rec?.reason, 'no thanks');
  });

  it('rejects a pending approval past its timeout when it is decided', async () => {
    const id = newId();
    await store.savePending('dev', id, pending, 50);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(await store.decide('dev', id, true), { kind: 'expired' });
    const rec = await store.get('dev', id);
    assert.equal(rec?.status, 'rejected');
    assert.equal(rec?.expired, true);
    assert.deepEqual(await store.decide('dev', id, true), { kind: 'decided', status: 'rejected' });
  });

  it('marks a resume once', async () => {
    const id = newId();
    await store.savePending('dev', id, pending, 60_000);
    assert.equal(await store.markResumed('dev', id), true);
    assert.equal(await store.markResumed('dev', id), false);
    assert.equal((await store.get('dev', id))?.resumed, true);
  });

  it('claimExpired: hands each approval past its timeout to exactly one of several sweepers, and none before', async () => {
    const sweepers = await Promise.all(
      [1, 2, 3].map(async () => {
        const client = createClient({ url: server.url });
        await client.connect();
        return { client, store: new ApprovalStore(client, { retentionSeconds: 60, keyPrefix: 'sweep' }) };
      }),
    );
    try {
      const owner = sweepers[0]!.store;
      await owner.savePending('dev', 'apr_late', pending, 60_000);
      for (let i = 0; i < 20; i++) await owner.savePending(i % 2 ? 'dev' : 'acme', `apr_due${i}`, pending, 50);
      await new Promise((r) => setTimeout(r, 120));
      const claimed = (await Promise.all(sweepers.map((s) => s.store.claimExpired(7)))).flat();
      const again = (await Promise.all(sweepers.map((s) => s.store.claimExpired(50)))).flat();
      const all = [...claimed, ...again].map((a) => `${a.tenant}/${a.approvalId}`).sort();
      assert.equal(all.length, 20, 'each once');
      assert.equal(new Set(all).size, 20);
      assert.ok(!all.some((a) => a.endsWith('apr_late')), 'not one that is still pending in time');
      assert.ok(all.includes('acme/apr_due0') && all.includes('dev/apr_due1'), 'tenant kept');
      await owner.indexExpiry({ tenant: 'dev', approvalId: 'apr_retry' }, Date.now() - 1);
      assert.deepEqual(await owner.claimExpired(), [{ tenant: 'dev', approvalId: 'apr_retry' }], 'a put-back is due again');
    } finally {
      await Promise.all(sweepers.map((s) => s.client.close()));
    }
  });
});

