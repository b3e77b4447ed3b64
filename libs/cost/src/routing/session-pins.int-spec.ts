import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { SessionPins } from './session-pins';

describe('SessionPins against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let other: ReturnType<typeof createClient>;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    other = createClient({ url: server.url });
    await redis.connect();
    await other.connect();
  });
  after(async () => {
    await redis.close();
    await other.close();
    await server.stop();
  });

  it('a pin made by one replica is seen by another, per tenant, with the session TTL, until unpinned', async () => {
    const a = new SessionPins(redis, { ttlSeconds: 120 });
    const b = new SessionPins(other, { ttlSeconds: 120 });
    const pin = { provider: 'anthropic', model: 'claude-sonnet-4-20250514' };
    assert.equal(await b.get('dev', 'ses_1'), undefined);
    await a.pin('dev', 'ses_1', pin);
    assert.deepEqual(await b.get('dev', 'ses_1'), pin);
    assert.equal(await b.get('acme', 'ses_1'), undefined);
    const ttl = await redis.ttl('keelson:route-pin:{dev}:ses_1');
    assert.ok(ttl > 100 && ttl <= 120, `ttl ${ttl}`);
    await b.pin('dev', 'ses_1', { provider: 'openai', model: 'gpt-4.1' });
    assert.equal((await a.get('dev', 'ses_1'))?.model, 'gpt-4.1', 'a fallback re-pins the session');
    await a.unpin('dev', 'ses_1');
    assert.equal(await b.get('dev', 'ses_1'), undefined);
  });
});
