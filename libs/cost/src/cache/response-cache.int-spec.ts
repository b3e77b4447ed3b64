import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import type { CostRequest } from '../request';
import { ResponseCache } from './response-cache';

const scope = { tenant: 'dev', agentId: 'assistant', agentVersion: 'v1' };
const request: CostRequest = { provider: 'openai', model: 'gpt-4.1', temperature: 0, messages: [{ role: 'user', content: 'What is 2+2?' }] };
const answer = { output: '4', finishReason: 'stop', model: 'gpt-4.1-2025-04-14', usage: { inputTokens: 12, outputTokens: 1, totalTokens: 13 } };

describe('ResponseCache against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let cache: ResponseCache;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    cache = new ResponseCache(redis, { ttlSeconds: 300 });
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('serves a deterministic answer back for the same tenant only, with the TTL', async () => {
    assert.equal(await cache.get(scope, request), undefined);
    assert.equal(await cache.put(scope, request, answer), true);
    assert.deepEqual(await cache.get(scope, request), answer);
    assert.equal(await cache.get({ ...scope, tenant: 'acme' }, request), undefined);
    assert.equal(await cache.get({ ...scope, agentVersion: 'v2' }, request), undefined);
    const keys = await redis.keys('keelson:cache:{dev}:*');
    assert.equal(keys.length, 1);
    const ttl = await redis.ttl(keys[0]!);
    assert.ok(ttl > 290 && ttl <= 300, `ttl ${ttl}`);
  });

  it('never stores tool-call answers or sampled requests, and never reads for them', async () => {
    const other = { ...request, messages: [{ role: 'user' as const, content: 'Fetch example.com' }] };
    assert.equal(await cache.put(scope, other, { ...answer, toolCalls: [{ id: 'c1' }] }), false);
    assert.equal(await cache.get(scope, other), undefined);
    const sampled = { ...request, temperature: 1 };
    assert.equal(await cache.put(scope, sampled, answer), false);
    assert.equal(await cache.get(scope, sampled), undefined, 'a sampled request is not served even from a deterministic twin');
  });
});
