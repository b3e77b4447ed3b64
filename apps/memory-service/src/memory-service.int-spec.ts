import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Headers, MemoryStreams, MemorySubjects, Streams, Subjects } from '@keelson/contracts';
import { JetStreamPublisher, request, silentLogger } from '@keelson/messaging';
import { MemoryClient } from '@keelson/memory';
import { freePort, startApp, startNats, waitFor, type AppHandle, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';

/**
 * memory-service as its own process against a real nats-server (it holds no Redis state, so no Redis is
 * started), with the embedded LanceDB store in a temporary directory and the offline embedder.
 */
describe('memory-service over NATS', () => {
  let nats: NatsServerHandle;
  let app: AppHandle;
  let nc: NatsConnection;
  let dataDir: string;
  let port: number;

  const rpc = <T = any>(subject: string, body: unknown): Promise<T> => request<T>(nc, subject, body, { timeoutMs: 10_000 });

  before(async () => {
    nats = await startNats();
    dataDir = mkdtempSync(join(tmpdir(), 'keelson-memory-int-'));
    port = await freePort();
    app = await startApp({
      name: 'memory-service',
      env: { NATS_URL: nats.url, HEALTH_PORT: String(port), MEMORY_DATA_DIR: dataDir, LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    nc = await connect({ servers: nats.url });
  });

  after(async () => {
    await nc?.close();
    await app?.stop();
    await nats?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('is ready with NATS as its only remote dependency (the embedded store is checked at start)', async () => {
    const body = (await (await fetch(`http://127.0.0.1:${port}/readyz`)).json()) as any;
    assert.deepEqual(body, { status: 'ready', checks: { nats: 'ok' } });
  });

  it('upserts, searches, gets and deletes over the memory RPCs', async () => {
    const upsert = await rpc(MemorySubjects.upsertRpc, {
      tenant: 'acme',
      items: [
        { namespace: 'agent:helper', text: 'The staging database is called pelican', metadata: { team: 'data' } },
        { namespace: 'bad-namespace', text: 'refused' },
      ],
    });
    assert.equal(upsert.ok, true, JSON.stringify(upsert));
    assert.equal(upsert.results[0].ok, true);
    assert.deepEqual([upsert.results[1].ok, upsert.results[1].field], [false, 'items[1].namespace']);
    const id = upsert.results[0].id as string;

    const search = await rpc(MemorySubjects.searchRpc, { tenant: 'acme', query: 'what is the staging database called', filter: { team: 'data' } });
    assert.equal(search.ok, true, JSON.stringify(search));
    assert.equal(search.results[0].id, id);
    assert.ok(search.results[0].score > 0.2);

    const got = await rpc(MemorySubjects.getRpc, { tenant: 'acme', id });
    assert.equal(got.memory.text, 'The staging database is called pelican');

    assert.deepEqual(await rpc(MemorySubjects.deleteRpc, { tenant: 'acme', id }), { ok: true, deleted: 1 });
    const gone = await rpc(MemorySubjects.getRpc, { tenant: 'acme', id });
    assert.deepEqual([gone.ok, gone.status, gone.code], [false, 404, 'memory_not_found']);
  });

  it('refuses a malformed filter with 400 invalid_filter naming the field', async () => {
    const reply = await rpc(MemorySubjects.searchRpc, { tenant: 'acme', query: 'x', filter: { team: { like: 'd%' } } });
    assert.deepEqual([reply.ok, reply.status, reply.code, reply.field], [false, 400, 'invalid_filter', 'filter.team']);
  });

  it('never answers one tenant with another tenant\'s memories', async () => {
    const upsert = await rpc(MemorySubjects.upsertRpc, { tenant: 'alpha', items: [{ namespace: 'user:ann', text: 'Alpha secret launch code is orange' }] });
    const id = upsert.results[0].id;
    const other = await rpc(MemorySubjects.searchRpc, { tenant: 'beta', query: 'secret launch code orange' });
    assert.deepEqual(other, { ok: true, results: [] });
    assert.equal((await rpc(MemorySubjects.getRpc, { tenant: 'beta', id })).code, 'memory_not_found');
    assert.deepEqual(await rpc(MemorySubjects.deleteRpc, { tenant: 'beta', id }), { ok: true, deleted: 0 });
    assert.deepEqual(await rpc(MemorySubjects.eraseRpc, { tenant: 'beta', userId: 'ann' }), { ok: true, deleted: 0 });
    assert.equal((await rpc(MemorySubjects.searchRpc, { tenant: 'alpha', query: 'secret launch code orange' })).results[0].id, id);
  });

  it('stores a turn\'s facts from the JetStream write subject, recalls them in another session, and erases them at once', async () => {
    // The agent runtime's side: MemoryClient publishes the turn after the reply and recalls before the next.
    const client = new MemoryClient(nc, new JetStreamPublisher(nc, { logger: silentLogger }));
    await client.rememberTurn('acme', { userId: 'ada', sessionId: 'ses_1', userText: 'Hello. My name is Ada. I like green tea.' }, 'acme:ses_1:1:memory');
    const recall = await waitFor(
      async () => {
        const r = await client.recallForTurn('acme', 'ada', 'do I like tea', { timeoutMs: 2_000 });
        return r.memories.length > 0 && r;
      },
      { description: 'the turn\'s facts to be stored', timeoutMs: 15_000 },
    );
    assert.equal(recall.late, false);
    assert.equal(recall.memories[0].text, 'The user likes green tea');
    assert.equal(recall.memories[0].metadata.sessionId, 'ses_1');

    const namespaces = await rpc(MemorySubjects.namespacesRpc, { tenant: 'acme' });
    assert.deepEqual(namespaces.namespaces.find((n: any) => n.namespace === 'user:ada'), { kind: 'memory', namespace: 'user:ada', count: 2 });
    assert.deepEqual((await client.recallForTurn('other', 'ada', 'do I like tea', { timeoutMs: 2_000 })).memories, []);

    assert.deepEqual(await rpc(MemorySubjects.eraseRpc, { tenant: 'acme', userId: 'ada' }), { ok: true, deleted: 2 });
    const after = await rpc(MemorySubjects.searchRpc, { tenant: 'acme', query: 'green tea Ada', namespace: 'user:ada' });
    assert.deepEqual(after.results, []);

    // The write was acknowledged (a work queue keeps only what is not).
    const info = await (await nc.jetstreamManager()).streams.info(MemoryStreams.writes.name);
    assert.equal(info.state.messages, 0);
  });

  it('dead-letters a malformed write instead of retrying it', async () => {
    const publisher = new JetStreamPublisher(nc, { logger: silentLogger });
    await publisher.publish(MemorySubjects.writes('acme'), { type: 'turn', userId: 'bad id!' }, { msgId: 'bad-memory-write' });
    const jsm = await nc.jetstreamManager();
    const dead = await waitFor(async () => {
      const msg = await jsm.streams
        .getMessage(Streams.deadLetters.name, { last_by_subj: Subjects.deadLetter(MemoryStreams.writes.name) })
        .catch(() => undefined);
      return msg?.header?.get(Headers.deadLetterReason) ? msg : undefined;
    }, { description: 'the dead letter of the malformed write' });
    assert.match(dead.header.get(Headers.deadLetterReason), /invalid memory write/);
  });
});
