import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { SessionStore } from './session-store';

describe('SessionStore against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let store: SessionStore;
  let n = 0;
  const newId = () => `ses_test${++n}`;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    store = new SessionStore(redis, { ttlSeconds: 60, maxMessages: 4 });
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('creates a session that reads back empty, with an expiry in the future', async () => {
    const id = newId();
    const { expiresAt } = await store.create('dev', id, 'assistant');
    const view = await store.get('dev', id);
    assert.equal(view?.agentId, 'assistant');
    assert.equal(view?.turns, 0);
    assert.deepEqual(view?.messages, []);
    assert.ok(Date.parse(expiresAt) > Date.now());
  });

  it('keeps sessions apart by tenant', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    assert.equal(await store.get('acme', id), undefined);
    assert.equal(await store.reserveTurn('acme', id), undefined);
  });

  it('numbers turns in order and refuses to reserve on an unknown session', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    assert.deepEqual(await store.reserveTurn('dev', id), { kind: 'reserved', turn: 1, agentId: 'assistant', running: 0 });
    assert.deepEqual(await store.reserveTurn('dev', id), { kind: 'reserved', turn: 2, agentId: 'assistant', running: 1 });
    assert.equal(await store.reserveTurn('dev', 'ses_missing'), undefined);
    assert.equal(await store.agentOf('dev', id), 'assistant');
    assert.equal(await store.agentOf('dev', 'ses_missing'), undefined);
  });

  it('reject: reserves nothing while a turn is reserved and not done, and names that turn', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    assert.deepEqual(await store.reserveTurn('dev', id, 'reject'), { kind: 'reserved', turn: 1, agentId: 'assistant', running: 0 }, 'idle: runs');
    assert.deepEqual(await store.reserveTurn('dev', id, 'reject'), { kind: 'rejected', agentId: 'assistant', running: 1 });
    await store.beginTurn('dev', id, 1, 'a', 10_000);
    assert.deepEqual(await store.reserveTurn('dev', id, 'reject'), { kind: 'rejected', agentId: 'assistant', running: 1 });
    await store.commitTurn('dev', id, 1, 'a', []);
    assert.deepEqual(await store.reserveTurn('dev', id, 'reject'), { kind: 'reserved', turn: 2, agentId: 'assistant', running: 0 }, 'the rejected ones took no number');
  });

  it('reject: a turn the gateway abandoned, or one lost before it was published, does not keep the session busy', async () => {
    const quick = new SessionStore(redis, { ttlSeconds: 60, maxMessages: 10, missingTurnAfterMs: 50, keyPrefix: 'quick' });
    const id = newId();
    await quick.create('dev', id, 'assistant');
    await quick.reserveTurn('dev', id);
    await quick.abandonTurn('dev', id, 1);
    await quick.reserveTurn('dev', id); // turn 2: never published, never seen
    assert.deepEqual(await quick.reserveTurn('dev', id, 'reject'), { kind: 'rejected', agentId: 'assistant', running: 2 }, 'turn 2 is young');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await quick.reserveTurn('dev', id, 'reject'), { kind: 'reserved', turn: 3, agentId: 'assistant', running: 0 });
  });

  it('interrupt: marks every unfinished earlier turn cancelled; begin and lease renewal report it', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await store.reserveTurn('dev', id);
    assert.equal((await store.beginTurn('dev', id, 1, 'a', 10_000)).kind, 'ok');
    await store.reserveTurn('dev', id); // turn 2, queued
    assert.deepEqual(await store.reserveTurn('dev', id, 'interrupt'), { kind: 'reserved', turn: 3, agentId: 'assistant', running: 1 });
    const renewal = await store.beginTurn('dev', id, 1, 'a', 10_000);
    assert.equal(renewal.kind === 'ok' && renewal.cancelled, true, 'the running turn sees it at its next renewal');
    await store.commitTurn('dev', id, 1, 'a', []);
    const queued = await store.beginTurn('dev', id, 2, 'a', 10_000);
    assert.equal(queued.kind === 'ok' && queued.cancelled, true, 'a queued turn is cancelled too');
    await store.commitTurn('dev', id, 2, 'a', []);
    const next = await store.beginTurn('dev', id, 3, 'a', 10_000);
    assert.equal(next.kind === 'ok' && next.cancelled, false, 'the interrupting turn runs');
  });

  it('remembers the agent version the last run turn ran, and keeps it through a turn committed without one', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    for (let t = 1; t <= 3; t++) await store.reserveTurn('dev', id);
    const first = await store.beginTurn('dev', id, 1, 'a', 10_000);
    assert.equal(first.kind === 'ok' && first.agentVersion, undefined, 'no turn has run yet');
    await store.commitTurn('dev', id, 1, 'a', [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], '2');
    const second = await store.beginTurn('dev', id, 2, 'a', 10_000);
    assert.equal(second.kind === 'ok' && second.agentVersion, '2');
    assert.equal(second.kind === 'ok' && second.history.length, 2, 'the history still follows the version');
    await store.commitTurn('dev', id, 2, 'a', []);
    const third = await store.beginTurn('dev', id, 3, 'a', 10_000);
    assert.equal(third.kind === 'ok' && third.agentVersion, '2', 'a turn that ran nothing keeps the recorded version');
  });

  it('runs turn 2 only after turn 1 is committed, and hands it the history', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await store.reserveTurn('dev', id);
    await store.reserveTurn('dev', id);
    assert.deepEqual(await store.beginTurn('dev', id, 2, 'replica-a', 10_000), { kind: 'wait' });
    const first = await store.beginTurn('dev', id, 1, 'replica-a', 10_000);
    assert.equal(first.kind, 'ok');
    const messages = [
      { role: 'user' as const, content: 'hi' },
      { role: 'assistant' as const, content: 'hello' },
    ];
    assert.equal(await store.commitTurn('dev', id, 1, 'replica-a', messages), 'ok');
    const second = await store.beginTurn('dev', id, 2, 'replica-b', 10_000);
    assert.deepEqual(second, { kind: 'ok', agentId: 'assistant', cancelled: false, absorbedInto: 0, steers: [], history: messages });
  });

  describe('steer', () => {
    const said = (content: string) => ({ role: 'user' as const, content });

    it('the running turn takes later turns in, in order; they end as its reply', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      await store.reserveTurn('dev', id);
      await store.beginTurn('dev', id, 1, 'a', 10_000);
      assert.deepEqual(await store.reserveTurn('dev', id, 'steer'), { kind: 'reserved', turn: 2, agentId: 'assistant', running: 1 });
      await store.reserveTurn('dev', id, 'steer'); // turn 3
      assert.equal(await store.absorbTurn('dev', id, 1, 3, 'a', 'third'), false, 'not before turn 2');
      assert.equal(await store.absorbTurn('dev', id, 1, 2, 'b', 'second'), false, 'only the lease holder');
      assert.equal(await store.absorbTurn('dev', id, 1, 2, 'a', 'second'), true);
      assert.equal(await store.absorbTurn('dev', id, 1, 3, 'a', 'third'), true);
      assert.equal(await store.absorbTurn('dev', id, 1, 4, 'a', 'fourth'), false, 'turn 4 was never reserved');
      const rerun = await store.beginTurn('dev', id, 1, 'a', 10_000);
      assert.equal(rerun.kind === 'ok' && rerun.steers.join('|'), 'second|third', 'a re-run gets them from the start');
      assert.equal(await store.commitTurn('dev', id, 1, 'a', [said('first'), said('second'), said('third'), { role: 'assistant', content: 'ok' }]), 'ok');
      for (const turn of [2, 3]) {
        const begun = await store.beginTurn('dev', id, turn, 'a', 10_000);
        assert.equal(begun.kind === 'ok' && begun.absorbedInto, 1, `turn ${turn} was taken in by turn 1`);
        assert.equal(await store.commitTurn('dev', id, turn, 'a', []), 'ok');
      }
      assert.equal((await store.get('dev', id))?.turns, 3);
    });

    it('a failed turn gives the turns it took in back: each runs on its own', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      await store.reserveTurn('dev', id);
      await store.beginTurn('dev', id, 1, 'a', 10_000);
      await store.reserveTurn('dev', id, 'steer');
      assert.equal(await store.absorbTurn('dev', id, 1, 2, 'a', 'second'), true);
      await store.commitTurn('dev', id, 1, 'a', []);
      const second = await store.beginTurn('dev', id, 2, 'a', 10_000);
      assert.deepEqual(second.kind === 'ok' && [second.absorbedInto, second.steers], [0, []]);
    });

    it('never takes in past a queued turn, nor an interrupted one', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      await store.reserveTurn('dev', id);
      await store.beginTurn('dev', id, 1, 'a', 10_000);
      await store.reserveTurn('dev', id, 'enqueue'); // turn 2
      await store.reserveTurn('dev', id, 'steer'); // turn 3
      assert.equal(await store.absorbTurn('dev', id, 1, 3, 'a', 'third'), false);
      await store.reserveTurn('dev', id, 'interrupt'); // turn 4 cancels 1..3
      assert.equal(await store.absorbTurn('dev', id, 1, 2, 'a', 'second'), false);
      assert.equal(await store.absorbTurn('dev', id, 2, 3, 'a', 'third'), false, 'turn 2 is not running');
    });
  });

  describe('the claim: an idle session\'s turn is leased when it is reserved', () => {
    const claim = { claimLeaseMs: 10_000 };

    it('claims the next turn with the history and version BEGIN_TURN would read; the claim commits it', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      const first = await store.reserveTurn('dev', id, 'enqueue', claim);
      assert.equal(first?.kind, 'reserved');
      assert.ok(first?.kind === 'reserved' && first.claim);
      assert.equal(first.claim.owner, 'pre:1');
      assert.deepEqual(first.claim.history, []);
      assert.ok(first.claim.until > Date.now() + 5_000, 'leased for claimLeaseMs, on the Redis clock');
      assert.equal(await store.commitTurn('dev', id, 1, 'pre:1', [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }], 'v2'), 'ok');

      const second = await store.reserveTurn('dev', id, 'enqueue', claim);
      assert.ok(second?.kind === 'reserved' && second.claim);
      assert.deepEqual(second.claim, {
        owner: 'pre:2',
        until: second.claim.until,
        agentVersion: 'v2',
        history: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'hello' }],
      });
    });

    it('keeps every other replica out while claimed, and lets the claim renew as its owner', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      await store.reserveTurn('dev', id, 'enqueue', claim);
      assert.deepEqual(await store.beginTurn('dev', id, 1, 'replica-b', 10_000), { kind: 'busy' }, 'a redelivery elsewhere waits');
      assert.equal((await store.beginTurn('dev', id, 1, 'pre:1', 10_000)).kind, 'ok', 'the renewal of the claimed run');
      assert.equal(await store.commitTurn('dev', id, 1, 'replica-b', []), 'conflict');
    });

    it('claims nothing for a turn that queues behind another, or for a history over the size limit', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      await store.reserveTurn('dev', id, 'enqueue', claim);
      const queued = await store.reserveTurn('dev', id, 'enqueue', claim);
      assert.deepEqual(queued, { kind: 'reserved', turn: 2, agentId: 'assistant', running: 1 }, 'turn 1 not done: no claim');
      await store.commitTurn('dev', id, 1, 'pre:1', [{ role: 'user', content: 'x'.repeat(200) }]);
      await store.beginTurn('dev', id, 2, 'a', 10_000);
      await store.commitTurn('dev', id, 2, 'a', []);
      const big = await store.reserveTurn('dev', id, 'enqueue', { claimLeaseMs: 10_000, claimMaxHistoryBytes: 100 });
      assert.deepEqual(big, { kind: 'reserved', turn: 3, agentId: 'assistant', running: 0 }, 'history too long to travel');
      assert.equal((await store.beginTurn('dev', id, 3, 'a', 10_000)).kind, 'ok', 'not leased: the runner begins as usual');
    });

    it('claims nothing while a replica holds the lease, nor without claimLeaseMs', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      assert.deepEqual(await store.reserveTurn('dev', id), { kind: 'reserved', turn: 1, agentId: 'assistant', running: 0 });
      await store.beginTurn('dev', id, 1, 'a', 10_000);
      await store.commitTurn('dev', id, 1, 'a', []);
      // Defensive: a lease held on the next turn number (no gateway does this) still blocks a claim.
      await store.beginTurn('dev', id, 2, 'a', 10_000);
      const during = await store.reserveTurn('dev', id, 'enqueue', claim);
      assert.ok(during?.kind === 'reserved' && !during.claim, 'leased by replica a: no claim');
    });

    it('a claimed turn whose runner died before its first renewal is not passed as lost until the claim lapsed and then some', async () => {
      const quick = new SessionStore(redis, { ttlSeconds: 60, maxMessages: 4, missingTurnAfterMs: 3_000 });
      const id = newId();
      await quick.create('dev', id, 'assistant');
      await quick.reserveTurn('dev', id, 'enqueue', { claimLeaseMs: 1_000 });
      await quick.reserveTurn('dev', id, 'enqueue', { claimLeaseMs: 1_000 });
      // Reserved more than missingTurnAfterMs ago, but its claim lapsed less than that ago.
      await delay(3_400);
      assert.deepEqual(await quick.beginTurn('dev', id, 2, 'a', 10_000, true), { kind: 'wait' }, 'JetStream redelivers turn 1 first');
      await delay(1_000);
      assert.equal((await quick.beginTurn('dev', id, 2, 'a', 10_000, true)).kind, 'ok', 'never delivered at all: passed in the end');
    });

    it('gives the claim back when the gateway abandons the turn, so the next turn need not wait for it', async () => {
      const id = newId();
      await store.create('dev', id, 'assistant');
      await store.reserveTurn('dev', id, 'enqueue', claim);
      await store.abandonTurn('dev', id, 1);
      await store.reserveTurn('dev', id, 'enqueue', claim);
      assert.equal((await store.beginTurn('dev', id, 2, 'a', 10_000)).kind, 'ok');
    });
  });

  it('reports a redelivered turn that was already committed as done', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await store.reserveTurn('dev', id);
    await store.beginTurn('dev', id, 1, 'a', 10_000);
    await store.commitTurn('dev', id, 1, 'a', []);
    assert.deepEqual(await store.beginTurn('dev', id, 1, 'b', 10_000), { kind: 'done' });
  });

  it('keeps a second replica out while the lease is held, and lets it in once the lease expires', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await store.reserveTurn('dev', id);
    assert.equal((await store.beginTurn('dev', id, 1, 'a', 150)).kind, 'ok');
    assert.deepEqual(await store.beginTurn('dev', id, 1, 'b', 10_000), { kind: 'busy' });
    await new Promise((r) => setTimeout(r, 250));
    assert.equal((await store.beginTurn('dev', id, 1, 'b', 10_000)).kind, 'ok');
  });

  it('refuses the commit of an owner whose lease was taken over (fencing)', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await store.reserveTurn('dev', id);
    await store.beginTurn('dev', id, 1, 'a', 100);
    await new Promise((r) => setTimeout(r, 200));
    await store.beginTurn('dev', id, 1, 'b', 10_000);
    assert.equal(await store.commitTurn('dev', id, 1, 'a', [{ role: 'user', content: 'stale' }]), 'conflict');
    assert.equal(await store.commitTurn('dev', id, 1, 'b', [{ role: 'user', content: 'fresh' }]), 'ok');
    assert.deepEqual((await store.get('dev', id))?.messages, [{ role: 'user', content: 'fresh' }]);
  });

  it('skips a reserved turn that no replica ever saw, once it is old enough and only when asked to', async () => {
    const quick = new SessionStore(redis, { ttlSeconds: 60, maxMessages: 10, missingTurnAfterMs: 100, keyPrefix: 'quick' });
    const id = newId();
    await quick.create('dev', id, 'assistant');
    await quick.reserveTurn('dev', id);
    await quick.reserveTurn('dev', id);
    assert.deepEqual(await quick.beginTurn('dev', id, 2, 'a', 10_000, true), { kind: 'wait' }, 'too young to be called lost');
    await new Promise((r) => setTimeout(r, 200));
    assert.deepEqual(await quick.beginTurn('dev', id, 2, 'a', 10_000, false), { kind: 'wait' }, 'not asked to skip');
    assert.equal((await quick.beginTurn('dev', id, 2, 'a', 10_000, true)).kind, 'ok');
  });

  it('never skips an earlier turn that a replica has seen waiting, however long it waits', async () => {
    const quick = new SessionStore(redis, { ttlSeconds: 60, maxMessages: 10, missingTurnAfterMs: 50, keyPrefix: 'quick' });
    const id = newId();
    await quick.create('dev', id, 'assistant');
    for (let i = 0; i < 3; i++) await quick.reserveTurn('dev', id);
    await quick.beginTurn('dev', id, 1, 'a', 10_000);
    assert.deepEqual(await quick.beginTurn('dev', id, 2, 'b', 10_000, true), { kind: 'busy' }, 'turn 2 waits while turn 1 runs');
    await quick.commitTurn('dev', id, 1, 'a', []);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(await quick.beginTurn('dev', id, 3, 'c', 10_000, true), { kind: 'wait' }, 'turn 3 must not pass turn 2');
    assert.equal((await quick.beginTurn('dev', id, 2, 'b', 10_000, true)).kind, 'ok');
  });

  it('lets the next turn pass a turn the gateway abandoned, at once', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await store.reserveTurn('dev', id);
    await store.reserveTurn('dev', id);
    await store.abandonTurn('dev', id, 1);
    assert.equal((await store.beginTurn('dev', id, 2, 'a', 10_000)).kind, 'ok');
  });

  it('trims history to the newest maxMessages', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    for (let turn = 1; turn <= 3; turn++) {
      await store.reserveTurn('dev', id);
      await store.beginTurn('dev', id, turn, 'a', 10_000);
      await store.commitTurn('dev', id, turn, 'a', [
        { role: 'user', content: `q${turn}` },
        { role: 'assistant', content: `a${turn}` },
      ]);
    }
    const view = await store.get('dev', id);
    assert.deepEqual(view?.messages.map((m) => m.content), ['q2', 'a2', 'q3', 'a3']);
    assert.equal(view?.turns, 3);
  });

  it('deletes a session so that it can no longer take turns', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    assert.equal(await store.delete('dev', id), true);
    assert.equal(await store.delete('dev', id), false);
    assert.equal(await store.get('dev', id), undefined);
    assert.deepEqual(await store.beginTurn('dev', id, 1, 'a', 1_000), { kind: 'gone' });
  });

  it('expires an idle session and refreshes the expiry on every turn', async () => {
    const short = new SessionStore(redis, { ttlSeconds: 1, maxMessages: 10, keyPrefix: 'short' });
    const id = newId();
    await short.create('dev', id, 'assistant');
    await new Promise((r) => setTimeout(r, 600));
    await short.reserveTurn('dev', id);
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(await short.get('dev', id), 'a turn within the TTL should have kept the session alive');
    await new Promise((r) => setTimeout(r, 1_200));
    assert.equal(await short.get('dev', id), undefined);
  });

  it('reloads its scripts after Redis lost them', async () => {
    const id = newId();
    await store.create('dev', id, 'assistant');
    await redis.scriptFlush();
    assert.deepEqual(await store.reserveTurn('dev', id), { kind: 'reserved', turn: 1, agentId: 'assistant', running: 0 });
  });
});
