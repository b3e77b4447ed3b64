import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { RateLimiter, type RateLimitSubject } from './rate-limiter';

describe('RateLimiter against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let limiter: RateLimiter;
  let n = 0;
  const tenant = () => `t${++n}`;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
    limiter = new RateLimiter(redis);
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('allows exactly the requests per minute, then refuses with a Retry-After of about one interval', async () => {
    const subject: RateLimitSubject = { tenant: tenant(), rules: [{ scope: 'tenant', kind: 'requests', perMinute: 5 }] };
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.check(subject));
    assert.deepEqual(decisions.map((d) => d.allowed), [true, true, true, true, true, false]);
    assert.deepEqual(decisions.slice(0, 5).map((d) => d.remaining), [4, 3, 2, 1, 0]);
    const refused = decisions[5]!;
    assert.ok(refused.retryAfterMs > 11_000 && refused.retryAfterMs <= 12_000, `retry after ${refused.retryAfterMs} ms, expected about 12 s`);
    assert.deepEqual(refused.limit, { scope: 'tenant', kind: 'requests', perMinute: 5 });
  });

  it('limits each API key on its own, under the tenant\'s limit', async () => {
    const t = tenant();
    const rules = [
      { scope: 'tenant', kind: 'requests', perMinute: 10 },
      { scope: 'key', kind: 'requests', perMinute: 2 },
    ] as const;
    const k1: RateLimitSubject = { tenant: t, apiKeyId: 'k1', rules };
    const k2: RateLimitSubject = { tenant: t, apiKeyId: 'k2', rules };
    assert.equal((await limiter.check(k1)).allowed, true);
    assert.equal((await limiter.check(k1)).allowed, true);
    const third = await limiter.check(k1);
    assert.equal(third.allowed, false);
    assert.equal(third.limit?.scope, 'key');
    assert.equal((await limiter.check(k2)).allowed, true, 'another key still has room');
  });

  it('charges tokens after the fact, into debt, and refuses until the debt is paid off', async () => {
    const subject: RateLimitSubject = { tenant: tenant(), rules: [{ scope: 'tenant', kind: 'tokens', perMinute: 600_000 }] };
    assert.equal((await limiter.check(subject)).allowed, true);
    await limiter.consumeTokens(subject, 600_000 + 1_000);
    const refused = await limiter.check(subject);
    assert.equal(refused.allowed, false);
    assert.equal(refused.limit?.kind, 'tokens');
    assert.ok(refused.retryAfterMs > 0 && refused.retryAfterMs <= 100, `1,000 tokens of debt at 10,000/s: ${refused.retryAfterMs} ms`);
    await new Promise((r) => setTimeout(r, refused.retryAfterMs + 5));
    assert.equal((await limiter.check(subject)).allowed, true);
  });

  it('admits no more than the limit when many requests race', async () => {
    const subject: RateLimitSubject = { tenant: tenant(), rules: [{ scope: 'tenant', kind: 'requests', perMinute: 50 }] };
    const results = await Promise.all(Array.from({ length: 200 }, () => limiter.check(subject)));
    assert.equal(results.filter((r) => r.allowed).length, 50);
  });
});
