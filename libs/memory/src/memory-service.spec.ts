import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import type { Embedder } from './embedder';
import { LanceDbStore } from './lancedb-store';
import { MemoryService } from './memory-service';
import { OfflineEmbedder } from './offline-embedder';
import type { VectorStore } from './vector-store';

const codeOf = (err: unknown): string => (err instanceof KeelsonError ? (err.code as string) : `not a KeelsonError: ${String(err)}`);

describe('MemoryService on LanceDB with the offline embedder', () => {
  let dir: string;
  let store: LanceDbStore;
  let memory: MemoryService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keelson-memsvc-'));
    store = new LanceDbStore({ dataDir: dir });
    memory = new MemoryService(store, new OfflineEmbedder());
    await memory.init();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('validates each item on its own: the bad ones fail with the field named, the good one is stored', async () => {
    const results = await memory.upsert('dev', [
      { namespace: 'user:u1', text: '   ' },
      { namespace: 'user:u1', text: 'x'.repeat(8_001) },
      { namespace: 'users:u1', text: 'fine text' },
      { namespace: 'user:u1', text: 'fine text', kind: 'nope' },
      { namespace: 'user:u1', text: 'stored fine' },
    ]);
    assert.deepEqual(
      results.map((r) => (r.ok ? 'ok' : `${r.code} ${r.field}`)),
      [
        'validation_failed items[0].text',
        'validation_failed items[1].text',
        'validation_failed items[2].namespace',
        'validation_failed items[3].kind',
        'ok',
      ],
    );
  });

  it('creates, gets, searches and deletes one memory', async () => {
    const id = await memory.create('dev', { namespace: 'agent:helper', text: 'The deploy window is Tuesday night', metadata: { team: 'ops' } });
    assert.match(id, /^mem_[0-9a-f]{32}$/);
    const view = await memory.get('dev', id);
    assert.equal(view.text, 'The deploy window is Tuesday night');
    assert.equal(view.kind, 'memory');
    const hits = await memory.search('dev', { query: 'when is the deploy window', filter: { team: 'ops' } });
    assert.equal(hits[0]?.id, id);
    assert.ok(hits[0]!.score > 0.2, `score ${hits[0]!.score}`);
    assert.equal(await memory.delete('dev', id), true);
    await assert.rejects(memory.get('dev', id), (e) => codeOf(e) === 'memory_not_found');
  });

  it('refuses a malformed filter, an empty query and a bad id with the field named', async () => {
    await assert.rejects(memory.search('dev', { query: 'x', filter: { colour: { gt: 3 } } }), (e: unknown) => {
      assert.equal(codeOf(e), 'invalid_filter');
      assert.equal((e as KeelsonError).field, 'filter.colour');
      return true;
    });
    await assert.rejects(memory.search('dev', { query: 'x', filter: ['a'] }), (e) => codeOf(e) === 'invalid_filter');
    await assert.rejects(memory.search('dev', { query: ' ' }), (e) => codeOf(e) === 'validation_failed' && (e as KeelsonError).field === 'query');
    await assert.rejects(memory.get('dev', 'bad id!'), (e) => (e as KeelsonError).field === 'id');
    await assert.rejects(memory.create('dev', { namespace: 'robot:1', text: 'x' }), (e) => (e as KeelsonError).field === 'namespace');
  });

  it('recalls a fact stated in one session in another session of the same user, never for another tenant', async () => {
    const stored = await memory.rememberTurn('acme', 'ada', { userText: 'My name is Ada. I like green tea.' }, { sessionId: 'ses_1' });
    assert.equal(stored.length, 2);
    const again = await memory.rememberTurn('acme', 'ada', { userText: 'I like green tea' });
    assert.equal(again[0]!.ok && again[0]!.id, stored[1]!.ok && stored[1]!.id, 'the same fact keeps its id');
    assert.equal((await memory.listNamespaces('acme')).find((n) => n.namespace === 'user:ada')?.count, 2);

    const recall = await memory.recallForTurn('acme', 'ada', 'do I like tea?', { topK: 3 });
    assert.equal(recall.late, false);
    assert.equal(recall.memories[0]?.text, 'The user likes green tea');
    assert.deepEqual((await memory.recallForTurn('other', 'ada', 'do I like tea?')).memories, []);

    assert.equal(await memory.eraseUser('acme', 'ada'), 2);
    assert.deepEqual((await memory.recallForTurn('acme', 'ada', 'do I like tea?')).memories, []);
  });

  it('fits recalled memories into the token budget, best first', async () => {
    const long = (topic: string) => `The user said about ${topic}: ${'detail '.repeat(40)}`;
    await memory.upsert('dev', ['kiwi', 'kiwi fruit', 'kiwi bird'].map((t) => ({ namespace: 'user:bob', text: long(t) })));
    const tight = await memory.recallForTurn('dev', 'bob', 'kiwi', { tokenBudget: 100, minScore: -1 });
    assert.equal(tight.memories.length, 1);
    assert.ok(tight.tokens <= 100);
    const roomy = await memory.recallForTurn('dev', 'bob', 'kiwi', { tokenBudget: 1_000, minScore: -1 });
    assert.equal(roomy.memories.length, 3);
  });

  it('answers late with no memories when the search outruns the latency budget', async () => {
    const slowStore: VectorStore = Object.create(store, {
      search: { value: () => new Promise((resolve) => setTimeout(() => resolve([]), 300)) },
    });
    const slow = new MemoryService(slowStore, new OfflineEmbedder());
    const started = Date.now();
    const recall = await slow.recallForTurn('dev', 'bob', 'kiwi', { timeoutMs: 50 });
    assert.deepEqual(recall, { memories: [], late: true, tokens: 0 });
    assert.ok(Date.now() - started < 250, 'did not wait for the store');
  });

  it('hides a memory past its TTL at once and purges it across tenants', async () => {
    const past = new MemoryService(store, new OfflineEmbedder(), { now: () => Date.now() - 10_000 });
    const [result] = await past.upsert('ttl-tenant', [{ namespace: 'agent:ttl', text: 'short lived', ttlSeconds: 1 }]);
    assert.ok(result!.ok);
    await assert.rejects(memory.get('ttl-tenant', result!.id!), (e) => codeOf(e) === 'memory_not_found');
    assert.ok((await memory.purgeAllExpired()) >= 1);
  });

  it('refuses to start with another embedding model on an existing collection', async () => {
    const other: Embedder = { model: 'text-embedding-3-small', dimension: 1536, embed: async (t) => t.map(() => new Array(1536).fill(0)) };
    await assert.rejects(new MemoryService(store, other).init(), (e) => codeOf(e) === 'embedding_model_mismatch');
  });

  it('reports every item of a kind as failed when the embedder fails, storing nothing', async () => {
    const broken: Embedder = { model: new OfflineEmbedder().model, dimension: 384, embed: async () => Promise.reject(new Error('down')) };
    const results = await new MemoryService(store, broken).upsert('dev', [{ namespace: 'user:z', text: 'a' }, { namespace: 'user:z', text: 'b' }]);
    assert.ok(results.every((r) => !r.ok && r.code === 'embeddings_unavailable'));
    assert.equal((await memory.listNamespaces('dev')).find((n) => n.namespace === 'user:z'), undefined);
  });
});
