import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import { LanceDbStore } from './lancedb-store';
import { axisVector, vectorStoreContract } from './testing/vector-store-contract';
import { OfflineEmbedder } from './offline-embedder';

const tempDir = () => mkdtempSync(join(tmpdir(), 'keelson-lance-'));

vectorStoreContract('LanceDbStore', async () => {
  const dir = tempDir();
  return { store: new LanceDbStore({ dataDir: dir }), cleanup: async () => rmSync(dir, { recursive: true, force: true }) };
});

describe('LanceDbStore on disk', () => {
  it('keeps memories and the recorded model across a reopen, and still refuses a mismatch', async () => {
    const dir = tempDir();
    try {
      const first = new LanceDbStore({ dataDir: dir });
      await first.ensureCollection('memory', 'model-a', 8);
      await first.upsert('dev', 'memory', [{ id: 'keep', namespace: 'user:u', text: 'kept', metadata: {}, vector: axisVector(0), createdAt: 1 }]);
      await first.close();

      const second = new LanceDbStore({ dataDir: dir });
      await assert.rejects(second.ensureCollection('memory', 'model-b', 8), (e: unknown) => e instanceof KeelsonError && (e.code as string) === 'embedding_model_mismatch');
      await second.ensureCollection('memory', 'model-a', 8);
      assert.equal((await second.get('dev', 'memory', 'keep'))?.text, 'kept');
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('searches exactly below the threshold and builds an ANN index above it, still finding the nearest', async () => {
    const dir = tempDir();
    const embedder = new OfflineEmbedder({ dimension: 64 });
    const store = new LanceDbStore({ dataDir: dir, annThreshold: 600 });
    try {
      await store.ensureCollection('memory', embedder.model, embedder.dimension);
      const texts = Array.from({ length: 700 }, (_, i) => `note ${i} about topic ${i % 37} and item ${(i * 7) % 101}`);
      const vectors = await embedder.embed(texts);
      const records = texts.map((text, i) => ({ id: `n${i}`, namespace: 'agent:a', text, metadata: {}, vector: vectors[i]!, createdAt: 1 }));
      await store.upsert('dev', 'memory', records.slice(0, 500));
      assert.equal(await store.hasIndex('dev', 'memory'), false, 'no index below the threshold');
      await store.upsert('dev', 'memory', records.slice(500));
      assert.equal(await store.hasIndex('dev', 'memory'), true, 'an index once past the threshold');
      const [query] = await embedder.embed([texts[650]!]);
      const hits = await store.search('dev', 'memory', { vector: query!, topK: 5 });
      assert.equal(hits[0]!.id, 'n650');
      const exact = await store.search('dev', 'memory', { vector: query!, topK: 5, exact: true });
      assert.equal(exact[0]!.id, 'n650');

      // A few rows of one user in the indexed table: searched exactly, so none is lost to unprobed partitions.
      const few = texts.slice(0, 12).map((text, i) => ({ id: `u${i}`, namespace: 'user:few', text, metadata: {}, vector: vectors[i * 50]!, createdAt: 1 }));
      await store.upsert('dev', 'memory', few);
      const mine = await store.search('dev', 'memory', { vector: vectors[100]!, topK: 12, namespace: 'user:few' });
      assert.equal(mine.length, 12);
      assert.equal(mine[0]!.id, 'u2');
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
