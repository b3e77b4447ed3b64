import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startApp, startNats, type AppHandle, type NatsServerHandle } from '@keelson/testing';
import { startRouteTestGateway, type RouteTestGateway } from '../testing/route-test-gateway';
import { MemoriesController } from './memories.controller';
import { MemoryRpcClient } from './memory-rpc-client';

const KEY = 'ks_test_memories_dev';
const OTHER_KEY = 'ks_test_memories_other';

/**
 * The memory routes over real HTTP and NATS, with memory-service running as its own process. The routes
 * are mounted here with the gateway's own guard, error filter and bootstrap (bootstrapService), but not
 * through GatewayModule, which registers them separately (see docs/memory.md).
 */
describe('gateway memory routes', () => {
  let nats: NatsServerHandle;
  let memoryService: AppHandle;
  let gateway: RouteTestGateway;
  let dir: string;
  const call: RouteTestGateway['call'] = (path, init) => gateway.call(path, init);
  const post: RouteTestGateway['post'] = (path, body, key) => gateway.post(path, body, key);

  before(async () => {
    nats = await startNats();
    dir = mkdtempSync(join(tmpdir(), 'keelson-gw-memories-'));
    const memoryPort = await freePort();
    memoryService = await startApp({
      name: 'memory-service',
      env: { NATS_URL: nats.url, HEALTH_PORT: String(memoryPort), MEMORY_DATA_DIR: join(dir, 'memory'), LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${memoryPort}/readyz`,
    });
    gateway = await startRouteTestGateway({
      name: 'gateway-memories-test',
      natsUrl: nats.url,
      port: await freePort(),
      controllers: [MemoriesController],
      providers: [MemoryRpcClient],
      keys: { dev: KEY, other: OTHER_KEY },
    });
  });

  after(async () => {
    await gateway?.close();
    await memoryService?.stop();
    await nats?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a call without an API key', async () => {
    assert.equal((await call('/v1/memories/search', { method: 'POST', body: '{"query":"x"}', key: null })).status, 401);
  });

  it('stores with 201 {id}, finds it by search, and gets it by id', async () => {
    const created = await post('/v1/memories', { namespace: 'user:ada', text: 'Ada prefers window seats on long flights', metadata: { userId: 'ada' } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    assert.match(id, /^mem_/);

    const search = await post('/v1/memories/search', { query: 'which seats does Ada prefer on flights', topK: 3 });
    assert.equal(search.status, 200);
    assert.equal(search.body.results[0].id, id);
    assert.deepEqual(Object.keys(search.body.results[0]).sort(), ['id', 'metadata', 'namespace', 'score', 'text']);
    assert.deepEqual(search.body.results[0].metadata, { userId: 'ada' });

    const got = await call(`/v1/memories/${id}`);
    assert.equal(got.status, 200);
    assert.equal(got.body.text, 'Ada prefers window seats on long flights');
  });

  it('answers bad input with 400 naming the field', async () => {
    const bad = await post('/v1/memories', { namespace: 'people:ada', text: 'x' });
    assert.deepEqual([bad.status, bad.body.error.code, bad.body.error.field], [400, 'validation_failed', 'namespace']);
    const empty = await post('/v1/memories', { namespace: 'user:ada', text: '' });
    assert.equal(empty.body.error.field, 'text');
    const filter = await post('/v1/memories/search', { query: 'x', filter: { a: [1] } });
    assert.deepEqual([filter.status, filter.body.error.code, filter.body.error.field], [400, 'invalid_filter', 'filter.a']);
  });

  it('keeps tenants apart: another tenant gets 404 and no search results', async () => {
    const created = await post('/v1/memories', { namespace: 'tenant:shared', text: 'The dev tenant door code is 4512' });
    const id = created.body.id as string;
    assert.equal((await call(`/v1/memories/${id}`, { key: OTHER_KEY })).status, 404);
    assert.deepEqual((await post('/v1/memories/search', { query: 'door code' }, OTHER_KEY)).body, { results: [] });
    assert.equal((await call(`/v1/memories/${id}`, { method: 'DELETE', key: OTHER_KEY })).status, 404);
    assert.equal((await call(`/v1/memories/${id}`)).status, 200);
  });

  it('deletes by id with 204, then 404', async () => {
    const id = (await post('/v1/memories', { namespace: 'agent:a', text: 'temporary note' })).body.id;
    assert.equal((await call(`/v1/memories/${id}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/v1/memories/${id}`)).status, 404);
    assert.equal((await call(`/v1/memories/${id}`, { method: 'DELETE' })).status, 404);
  });

  it('erases one user\'s memories with DELETE /v1/memories?userId=, gone from search at once', async () => {
    await post('/v1/memories', { namespace: 'user:bob', text: 'Bob is allergic to peanuts' });
    await post('/v1/memories', { namespace: 'agent:a', text: 'Bob asked about peanut-free meals', metadata: { userId: 'bob' } });
    const erased = await call('/v1/memories?userId=bob', { method: 'DELETE' });
    assert.deepEqual([erased.status, erased.body], [200, { deleted: 2 }]);
    const search = await post('/v1/memories/search', { query: 'Bob peanuts allergic' });
    assert.ok(!search.body.results.some((r: any) => /Bob/.test(r.text)), JSON.stringify(search.body));
    assert.equal((await call('/v1/memories', { method: 'DELETE' })).body.error.field, 'userId');
  });
});
