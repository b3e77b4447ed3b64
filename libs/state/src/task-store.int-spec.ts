import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { TaskStore } from './task-store';

const outcome = {
  agentId: 'assistant',
  model: 'offline',
  output: 'done',
  finishReason: 'stop' as const,
  usage: { inputTokens: 1, outputTokens: 1, totalTokens: 2 },
};

describe('TaskStore against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let store: TaskStore;
  let n = 0;
  const newId = () => `tsk_test${++n}`;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    store = new TaskStore(redis, { ttlSeconds: 60 });
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('records a queued task that reads back as queued', async () => {
    const id = newId();
    assert.equal(await store.recordQueued('dev', id, 'assistant'), 'queued');
    const view = await store.get('dev', id);
    assert.equal(view?.status, 'queued');
    assert.equal(view?.attempts, 0);
  });

  it('does not turn a running task back into a queued one', async () => {
    const id = newId();
    await store.claim('dev', id, 'assistant', 'w1', 10_000);
    assert.equal(await store.recordQueued('dev', id, 'assistant'), 'running');
  });

  it('counts attempts and refuses to run a finished task again', async () => {
    const id = newId();
    assert.deepEqual(await store.claim('dev', id, 'assistant', 'w1', 10_000), { kind: 'ok', attempts: 1 });
    await store.finish('dev', id, { result: outcome });
    assert.deepEqual(await store.claim('dev', id, 'assistant', 'w2', 10_000), { kind: 'done', status: 'succeeded' });
    const view = await store.get('dev', id);
    assert.equal(view?.status, 'succeeded');
    assert.deepEqual(view?.result, outcome);
  });

  it('keeps a second worker off a task whose lease is live, and lets it take over after expiry', async () => {
    const id = newId();
    await store.claim('dev', id, 'assistant', 'w1', 150);
    assert.deepEqual(await store.claim('dev', id, 'assistant', 'w2', 10_000), { kind: 'busy' });
    await new Promise((r) => setTimeout(r, 250));
    assert.deepEqual(await store.claim('dev', id, 'assistant', 'w2', 10_000), { kind: 'ok', attempts: 2 });
  });

  it('stores a failure with its error', async () => {
    const id = newId();
    await store.claim('dev', id, 'assistant', 'w1', 10_000);
    await store.finish('dev', id, { error: { code: 'model_error', message: 'boom' } });
    const view = await store.get('dev', id);
    assert.equal(view?.status, 'failed');
    assert.deepEqual(view?.error, { code: 'model_error', message: 'boom' });
  });

  it('keeps tasks apart by tenant and answers undefined for unknown ids', async () => {
    const id = newId();
    await store.recordQueued('dev', id, 'assistant');
    assert.equal(await store.get('acme', id), undefined);
    assert.equal(await store.get('dev', 'tsk_unknown'), undefined);
  });
});
