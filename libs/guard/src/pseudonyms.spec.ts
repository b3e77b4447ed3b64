import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Pseudonymizer, RedisPseudonymVault, type RedisHashClient } from './pseudonyms';

/** The two hash commands of node-redis, in memory. */
class FakeRedis implements RedisHashClient {
  readonly data = new Map<string, Map<string, string>>();
  readonly ttl = new Map<string, number>();
  async hSet(key: string, field: string, value: string) {
    if (!this.data.has(key)) this.data.set(key, new Map());
    this.data.get(key)!.set(field, value);
    return 1;
  }
  async hGet(key: string, field: string) {
    return this.data.get(key)?.get(field) ?? null;
  }
  async expire(key: string, s: number) {
    this.ttl.set(key, s);
    return 1;
  }
}

describe('pseudonyms', () => {
  it('keeps one Redis hash per tenant holding only ciphertext, with the TTL set', async () => {
    const redis = new FakeRedis();
    const p = new Pseudonymizer(Buffer.alloc(32, 1), new RedisPseudonymVault(redis, { ttlSeconds: 3600 }));
    const t = p.tokenize('acme', 'EMAIL_ADDRESS', 'ada@example.org');
    await p.store('acme', [t]);
    const stored = redis.data.get('keelson:guard:pseudonyms:acme')!.get(t.token)!;
    assert.doesNotMatch(stored, /ada/);
    assert.equal(redis.ttl.get('keelson:guard:pseudonyms:acme'), 3600);
    assert.equal(await p.reveal('acme', t.token), 'ada@example.org');
  });

  it('gives different tokens to different tenants and detects a tampered record', async () => {
    const redis = new FakeRedis();
    const p = new Pseudonymizer(Buffer.alloc(32, 2), new RedisPseudonymVault(redis));
    assert.notEqual(p.tokenize('a', 'PERSON', 'Ada').token, p.tokenize('b', 'PERSON', 'Ada').token);
    const t = p.tokenize('a', 'PERSON', 'Ada');
    await p.store('a', [t]);
    const parts = t.sealed.split('.');
    parts[3] = Buffer.from('Eve').toString('base64url');
    await redis.hSet('keelson:guard:pseudonyms:a', t.token, parts.join('.'));
    await assert.rejects(p.reveal('a', t.token));
  });

  it('refuses a short master key', () => {
    assert.throws(() => new Pseudonymizer(Buffer.alloc(16), new RedisPseudonymVault(new FakeRedis())), /32 bytes/);
  });
});
