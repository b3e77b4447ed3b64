import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import type { MemoryRecord, VectorStore } from '../vector-store';

export interface ContractSubject {
  store: VectorStore;
  /** Removes what the run created (a temporary directory, Weaviate classes). */
  cleanup(): Promise<void>;
}

const DIM = 8;
/** A unit vector pointing mostly along axis `axis`, nudged by `nudge` along the next one. */
export function axisVector(axis: number, nudge = 0, dim = DIM): number[] {
  const v = new Array<number>(dim).fill(0);
  v[axis % dim] = 1;
  v[(axis + 1) % dim] = nudge;
  const n = Math.hypot(...v);
  return v.map((x) => x / n);
}

let counter = 0;
function record(over: Partial<MemoryRecord> & { vector: number[] }): MemoryRecord {
  counter++;
  return {
    id: `m${counter}_${randomUUID().slice(0, 8)}`,
    namespace: 'user:u1',
    text: `memory ${counter}`,
    metadata: {},
    createdAt: Date.now(),
    ...over,
  };
}

/**
 * One behaviour contract for every VectorStore adapter. `skip` (a reason) reports the whole suite as
 * skipped, as the Weaviate run does without WEAVIATE_URL.
 */
export function vectorStoreContract(name: string, open: () => Promise<ContractSubject>, options: { skip?: string } = {}): void {
  if (options.skip) {
    // One skipped test (not a skipped suite), so the run's summary counts it as skipped, with the reason.
    it(`VectorStore contract: ${name}`, { skip: options.skip }, () => undefined);
    return;
  }
  describe(`VectorStore contract: ${name}`, () => {
    let subject: ContractSubject;
    let store: VectorStore;
    // A kind of its own per run, so runs against a shared server never meet.
    const kind = `ct_${randomUUID().replace(/-/g, '').slice(0, 10)}`;
    const tenantA = `ta-${randomUUID().slice(0, 8)}`;
    const tenantB = `tb-${randomUUID().slice(0, 8)}`;

    before(async () => {
      subject = await open();
      store = subject.store;
      await store.ensureCollection(kind, 'test-model', DIM);
    });
    after(async () => {
      await subject?.store.close();
      await subject?.cleanup();
    });

    it('records the embedding model and dimension, and refuses another model or dimension', async () => {
      const again = await store.ensureCollection(kind, 'test-model', DIM);
      assert.deepEqual(again, { embeddingModel: 'test-model', dimension: DIM });
      for (const [model, dim] of [['other-model', DIM], ['test-model', DIM * 2]] as const) {
        await assert.rejects(store.ensureCollection(kind, model, dim), (err: unknown) => {
          assert.ok(err instanceof KeelsonError, `expected a KeelsonError, got ${String(err)}`);
          assert.equal(err.code, 'embedding_model_mismatch');
          return true;
        });
      }
    });

    it('stores a batch and finds the nearest memory first, with its fields and a cosine score', async () => {
      const near = record({ vector: axisVector(0), text: 'near', metadata: { userId: 'u1', topic: 'tea' } });
      const far = record({ vector: axisVector(3), text: 'far' });
      const results = await store.upsert(tenantA, kind, [near, far]);
      assert.deepEqual(results, [{ id: near.id, ok: true }, { id: far.id, ok: true }]);
      const hits = await store.search(tenantA, kind, { vector: axisVector(0, 0.1), topK: 2 });
      assert.deepEqual(hits.map((h) => h.id), [near.id, far.id]);
      assert.equal(hits[0]!.text, 'near');
      assert.deepEqual(hits[0]!.metadata, { userId: 'u1', topic: 'tea' });
      assert.ok(hits[0]!.score > 0.99 && hits[0]!.score <= 1.0001, `score ${hits[0]!.score}`);
      assert.ok(Math.abs(hits[1]!.score) < 0.2, `orthogonal score ${hits[1]!.score}`);
      const got = await store.get(tenantA, kind, near.id);
      assert.equal(got?.text, 'near');
      assert.equal(got?.namespace, 'user:u1');
      assert.equal(got?.createdAt, near.createdAt);
    });

    it('stores each item of a retried batch exactly once, and replaces by id', async () => {
      const ns = `agent:idem${counter}`;
      const batch = [record({ namespace: ns, vector: axisVector(1) }), record({ namespace: ns, vector: axisVector(2) })];
      await store.upsert(tenantA, kind, batch);
      await store.upsert(tenantA, kind, batch);
      await store.upsert(tenantA, kind, [{ ...batch[0]!, text: 'replaced' }]);
      const namespaces = await store.listNamespaces(tenantA, kind);
      assert.equal(namespaces.find((n) => n.namespace === ns)?.count, 2);
      assert.equal((await store.get(tenantA, kind, batch[0]!.id))?.text, 'replaced');
    });

    it('reports a failed item at its place and stores the rest', async () => {
      const good = record({ vector: axisVector(4) });
      const bad = record({ vector: [1, 0, 0] });
      const results = await store.upsert(tenantA, kind, [good, bad]);
      assert.deepEqual(results[0], { id: good.id, ok: true });
      assert.equal(results[1]!.ok, false);
      assert.equal(!results[1]!.ok && results[1]!.code, 'vector_dimension_mismatch');
      assert.ok(await store.get(tenantA, kind, good.id));
      assert.equal(await store.get(tenantA, kind, bad.id), undefined);
    });

    it('never shows one tenant another tenant\'s memories', async () => {
      const secret = record({ vector: axisVector(5), text: 'tenant A secret', metadata: { userId: 'shared-user' } });
      await store.upsert(tenantA, kind, [secret]);
      await store.upsert(tenantB, kind, [record({ vector: axisVector(6), text: 'tenant B' })]);
      const hits = await store.search(tenantB, kind, { vector: axisVector(5), topK: 10 });
      assert.ok(hits.every((h) => h.text === 'tenant B'), JSON.stringify(hits.map((h) => h.text)));
      assert.equal(await store.get(tenantB, kind, secret.id), undefined);
      assert.equal(await store.delete(tenantB, kind, secret.id), false);
      assert.equal(await store.deleteWhere(tenantB, kind, { userId: 'shared-user' }), 0);
      assert.ok(await store.get(tenantA, kind, secret.id), 'still there for its own tenant');
      assert.deepEqual((await store.listNamespaces(tenantB, kind)).map((n) => n.namespace), ['user:u1']);
      assert.deepEqual(await store.search(`tc-${randomUUID().slice(0, 8)}`, kind, { vector: axisVector(5), topK: 3 }), []);
    });

    it('filters by namespace, metadata equality, membership and minimum score', async () => {
      const ns = `session:f${counter}`;
      const red = record({ namespace: ns, vector: axisVector(7), metadata: { colour: 'red', n: 1 } });
      const blue = record({ namespace: ns, vector: axisVector(7, 0.3), metadata: { colour: 'blue', n: 2 } });
      const other = record({ namespace: 'agent:other', vector: axisVector(7) });
      await store.upsert(tenantA, kind, [red, blue, other]);
      const inNs = await store.search(tenantA, kind, { vector: axisVector(7), topK: 10, namespace: ns });
      assert.deepEqual(inNs.map((h) => h.id).sort(), [red.id, blue.id].sort());
      const blues = await store.search(tenantA, kind, { vector: axisVector(7), topK: 10, namespace: ns, filter: { colour: 'blue' } });
      assert.deepEqual(blues.map((h) => h.id), [blue.id]);
      const either = await store.search(tenantA, kind, { vector: axisVector(7), topK: 10, namespace: ns, filter: { n: { in: [1, 2] } } });
      assert.equal(either.length, 2);
      const close = await store.search(tenantA, kind, { vector: axisVector(7), topK: 10, namespace: ns, minScore: 0.99 });
      assert.deepEqual(close.map((h) => h.id), [red.id]);
    });

    it('deletes by id: gone from get and search at once', async () => {
      const m = record({ vector: axisVector(0, 0.5), text: 'to delete', namespace: 'agent:del' });
      await store.upsert(tenantA, kind, [m]);
      assert.equal(await store.delete(tenantA, kind, m.id), true);
      assert.equal(await store.delete(tenantA, kind, m.id), false);
      assert.equal(await store.get(tenantA, kind, m.id), undefined);
      const hits = await store.search(tenantA, kind, { vector: axisVector(0, 0.5), topK: 10, namespace: 'agent:del' });
      assert.deepEqual(hits, []);
    });

    it('erases one user: metadata userId and namespace user:<id>, nobody else', async () => {
      const byMeta = record({ namespace: 'agent:x', vector: axisVector(1, 0.2), metadata: { userId: 'erase-me' } });
      const byNs = record({ namespace: 'user:erase-me', vector: axisVector(1, 0.3) });
      const keep = record({ namespace: 'user:keep-me', vector: axisVector(1, 0.4), metadata: { userId: 'keep-me' } });
      await store.upsert(tenantA, kind, [byMeta, byNs, keep]);
      assert.equal(await store.deleteWhere(tenantA, kind, { userId: 'erase-me' }), 2);
      const hits = await store.search(tenantA, kind, { vector: axisVector(1, 0.3), topK: 50 });
      assert.ok(!hits.some((h) => h.id === byMeta.id || h.id === byNs.id), 'erased memories are not found');
      assert.ok(hits.some((h) => h.id === keep.id));
    });

    it('never returns an expired memory, and purges them', async () => {
      const now = Date.now();
      const expired = record({ namespace: 'agent:ttl', vector: axisVector(2, 0.2), expiresAt: now - 1_000 });
      const alive = record({ namespace: 'agent:ttl', vector: axisVector(2, 0.2), expiresAt: now + 3_600_000 });
      await store.upsert(tenantA, kind, [expired, alive]);
      const hits = await store.search(tenantA, kind, { vector: axisVector(2, 0.2), topK: 10, namespace: 'agent:ttl' });
      assert.deepEqual(hits.map((h) => h.id), [alive.id]);
      assert.equal(hits[0]!.expiresAt, alive.expiresAt);
      assert.equal(await store.get(tenantA, kind, expired.id), undefined);
      assert.equal((await store.listNamespaces(tenantA, kind)).find((n) => n.namespace === 'agent:ttl')?.count, 1);
      assert.equal(await store.purgeExpired(tenantA, kind), 1);
      const tenants = await store.tenants(kind);
      assert.ok(tenants.includes(tenantA) && tenants.includes(tenantB), `tenants: ${tenants.join(', ')}`);
    });
  });
}
