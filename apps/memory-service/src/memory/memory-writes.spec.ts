import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LanceDbStore, MemoryService, OfflineEmbedder, type Embedder } from '@keelson/memory';
import { PoisonMessageError, silentLogger, type InboundMessage } from '@keelson/messaging';
import { handleMemoryWrite } from './memory-writes';

const message = (data: unknown, over: Partial<InboundMessage> = {}): InboundMessage => ({
  subject: 'keelson.memory.writes.acme',
  data,
  headers: {},
  streamSeq: 7,
  deliveryCount: 1,
  stream: 'KEELSON_MEMORY_WRITES',
  working: () => undefined,
  ...over,
});

describe('handleMemoryWrite', () => {
  let dir: string;
  let store: LanceDbStore;
  let memory: MemoryService;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'keelson-writes-'));
    store = new LanceDbStore({ dataDir: dir });
    memory = new MemoryService(store, new OfflineEmbedder());
    await memory.init();
  });
  after(async () => {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('treats a malformed body or subject as poison (dead-lettered, not retried)', async () => {
    await assert.rejects(handleMemoryWrite(memory, message({ type: 'nope' }), silentLogger), PoisonMessageError);
    await assert.rejects(handleMemoryWrite(memory, message({ type: 'turn', userId: 'a', userText: 'x' }, { subject: 'keelson.memory.other' }), silentLogger), PoisonMessageError);
    await assert.rejects(handleMemoryWrite(memory, message({ type: 'turn', userId: 'a', userText: 'x' }, { subject: 'keelson.memory.writes.ACME' }), silentLogger), PoisonMessageError);
  });

  it('stores an upsert once however often it is delivered, deriving ids from the message id', async () => {
    const data = { type: 'upsert', items: [{ namespace: 'agent:a', text: 'The build server is named kestrel' }] };
    await handleMemoryWrite(memory, message(data, { msgId: 'w-1' }), silentLogger);
    await handleMemoryWrite(memory, message(data, { msgId: 'w-1', deliveryCount: 2, streamSeq: 9 }), silentLogger);
    const namespaces = await memory.listNamespaces('acme');
    assert.equal(namespaces.find((n) => n.namespace === 'agent:a')?.count, 1);
  });

  it('acknowledges a write whose items fail validation (logged, not retried)', async () => {
    await handleMemoryWrite(memory, message({ type: 'upsert', items: [{ namespace: 'nope', text: 'x' }] }), silentLogger);
  });

  it('throws on an embedder outage, so the runner naks and the write comes back', async () => {
    const down: Embedder = { model: new OfflineEmbedder().model, dimension: 384, embed: () => Promise.reject(new Error('connection refused')) };
    const broken = new MemoryService(store, down);
    await assert.rejects(
      handleMemoryWrite(broken, message({ type: 'turn', userId: 'ada', userText: 'I like tea.' }), silentLogger),
      /will retry/,
    );
  });
});
