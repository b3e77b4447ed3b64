import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { generateUuid5 } from 'weaviate-ts-client';
import { startFakeWeaviate, type FakeWeaviate } from './testing/fake-weaviate';
import { axisVector, vectorStoreContract } from './testing/vector-store-contract';
import { WeaviateStore } from './weaviate-store';

// Against a real Weaviate when WEAVIATE_URL is set (each run uses classes of its own and drops them).
const realUrl = process.env['WEAVIATE_URL'];
vectorStoreContract(
  'WeaviateStore (real Weaviate at WEAVIATE_URL)',
  async () => {
    const store = new WeaviateStore({ url: realUrl! });
    const kinds: string[] = [];
    const ensure = store.ensureCollection.bind(store);
    store.ensureCollection = (kind, model, dim) => (kinds.push(kind), ensure(kind, model, dim));
    return { store, cleanup: async () => void (await Promise.all([...new Set(kinds)].map((k) => new WeaviateStore({ url: realUrl! }).dropCollection(k)))) };
  },
  realUrl ? {} : { skip: 'WEAVIATE_URL is not set: no Weaviate server to run the contract against' },
);

// Always: the same contract against the protocol-faithful fake, which checks request building and parsing.
vectorStoreContract('WeaviateStore (protocol-faithful fake Weaviate)', async () => {
  const fake = await startFakeWeaviate();
  return { store: new WeaviateStore({ url: fake.url }), cleanup: () => fake.close() };
});

describe('WeaviateStore on the wire (protocol-faithful fake Weaviate)', () => {
  let fake: FakeWeaviate;
  let store: WeaviateStore;
  const kind = `wire_${randomUUID().slice(0, 6)}`;

  before(async () => {
    fake = await startFakeWeaviate();
    store = new WeaviateStore({ url: fake.url });
    await store.ensureCollection(kind, 'model-x', 8);
  });
  after(() => fake.close());

  it('creates one multi-tenant class per kind, recording model and dimension, vectorizer none, cosine', () => {
    const create = fake.requests.find((r) => r.method === 'POST' && r.path === '/v1/schema');
    assert.ok(create);
    const def = create.body as any;
    assert.equal(def.class, `Keelson_${kind}`);
    assert.equal(def.vectorizer, 'none');
    assert.deepEqual(def.multiTenancyConfig, { enabled: true });
    assert.equal(def.vectorIndexConfig.distance, 'cosine');
    assert.equal(def.description, 'keelson memory;model=model-x;dimension=8');
  });

  it('creates the Weaviate tenant once, then batch-imports objects with UUIDv5 ids, tenant and vector', async () => {
    fake.requests.length = 0;
    await store.upsert('acme', kind, [{ id: 'm1', namespace: 'user:u', text: 't', metadata: { userId: 'u' }, vector: axisVector(0), createdAt: 5 }]);
    await store.upsert('acme', kind, [{ id: 'm2', namespace: 'user:u', text: 't2', metadata: {}, vector: axisVector(1), createdAt: 6 }]);
    const calls = fake.requests.map((r) => `${r.method} ${r.path}`);
    assert.deepEqual(calls, [
      `GET /v1/schema/Keelson_${kind}/tenants`,
      `POST /v1/schema/Keelson_${kind}/tenants`,
      'POST /v1/batch/objects',
      'POST /v1/batch/objects',
    ]);
    const object = (fake.requests[2]!.body as any).objects[0];
    assert.equal(object.id, generateUuid5('m1'));
    assert.equal(object.tenant, 'acme');
    assert.equal(object.class, `Keelson_${kind}`);
    assert.deepEqual(object.vector, axisVector(0));
    assert.deepEqual(object.properties, {
      memoryId: 'm1',
      namespace: 'user:u',
      text: 't',
      metadataJson: '{"userId":"u"}',
      userId: 'u',
      createdAt: 5,
      expiresAt: 8_640_000_000_000_000,
    });
  });

  it('searches with GraphQL Get: nearVector, tenant, limit and where on expiry, namespace and userId', async () => {
    fake.requests.length = 0;
    const hits = await store.search('acme', kind, { vector: axisVector(0), topK: 3, namespace: 'user:u', filter: { userId: 'u' } });
    assert.deepEqual(hits.map((h) => h.id), ['m1']);
    const gql = (fake.requests.find((r) => r.path === '/v1/graphql')!.body as any).query as string;
    assert.match(gql, new RegExp(`^\\{Get\\{Keelson_${kind}\\(`));
    assert.match(gql, /nearVector:\{vector:\[1,0,0,0,0,0,0,0\]\}/);
    assert.match(gql, /tenant:"acme"/);
    assert.match(gql, /limit:3/);
    assert.match(gql, /\{operator:Equal,valueText:"user:u",path:\["namespace"\]\}/);
    assert.match(gql, /\{operator:Equal,valueText:"u",path:\["userId"\]\}/);
    assert.match(gql, /\{operator:GreaterThan,valueNumber:\d+,path:\["expiresAt"\]\}/);
    assert.match(gql, /_additional \{ id distance \}/);
  });

  it('uses hybrid search when configured and the query has text, reading the fused score', async () => {
    const hybrid = new WeaviateStore({ url: fake.url, hybridAlpha: 0.5 });
    await hybrid.ensureCollection(kind, 'model-x', 8);
    fake.requests.length = 0;
    const hits = await hybrid.search('acme', kind, { vector: axisVector(1), topK: 2, text: 't2' });
    assert.equal(hits[0]!.id, 'm2');
    assert.ok(hits[0]!.score > 0.9, `fused score ${hits[0]!.score}`);
    const gql = (fake.requests.find((r) => r.path === '/v1/graphql')!.body as any).query as string;
    assert.match(gql, /hybrid:\{query:"t2",alpha:0.5,vector:\[/);
    assert.match(gql, /_additional \{ id score \}/);
  });

  it('gets and deletes through /v1/objects/{class}/{uuid}?tenant=, and erases with a batch delete by where', async () => {
    fake.requests.length = 0;
    assert.equal((await store.get('acme', kind, 'm1'))?.text, 't');
    assert.equal(await store.delete('acme', kind, 'm2'), true);
    assert.equal(await store.delete('acme', kind, 'm2'), false);
    assert.equal(await store.deleteWhere('acme', kind, { userId: 'u' }), 1);
    const calls = fake.requests.map((r) => `${r.method} ${r.path.replace(/[0-9a-f-]{36}/, '{uuid}')}`);
    assert.ok(calls.includes(`GET /v1/objects/Keelson_${kind}/{uuid}?tenant=acme`), calls.join('\n'));
    assert.ok(calls.includes(`DELETE /v1/objects/Keelson_${kind}/{uuid}?tenant=acme`));
    const erase = fake.requests.find((r) => r.method === 'DELETE' && r.path === '/v1/batch/objects?tenant=acme')!.body as any;
    assert.deepEqual(erase.match.where, {
      operator: 'Or',
      operands: [
        { path: ['userId'], operator: 'Equal', valueText: 'u' },
        { path: ['namespace'], operator: 'Equal', valueText: 'user:u' },
      ],
    });
  });

  it('reports a per-object batch error at its item and stores the rest', async () => {
    const results = await store.upsert('acme', kind, [
      { id: 'ok1', namespace: 'agent:a', text: 'fine', metadata: {}, vector: axisVector(2), createdAt: 1 },
      { id: 'bad', namespace: 'agent:a', text: 'short', metadata: {}, vector: [1, 2], createdAt: 1 },
    ]);
    assert.equal(results[0]!.ok, true);
    assert.equal(!results[1]!.ok && results[1]!.code, 'vector_dimension_mismatch');
  });

  it('treats an unknown Weaviate tenant as empty instead of failing', async () => {
    assert.deepEqual(await store.search('nobody', kind, { vector: axisVector(0), topK: 1 }), []);
    assert.equal(await store.get('nobody', kind, 'm1'), undefined);
    assert.deepEqual(await store.listNamespaces('nobody', kind), []);
  });
});
