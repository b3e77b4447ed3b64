import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { createClient } from 'redis';
import { ApiKeyStore, keyStatus, viewOf } from './api-key-store';
import { parseKey, secretMatches } from './key-secret';

describe('ApiKeyStore (real Redis)', () => {
  let redis: RedisServerHandle;
  let client: ReturnType<typeof createClient>;
  let store: ApiKeyStore;

  before(async () => {
    redis = await startRedis();
    client = createClient({ url: redis.url });
    await client.connect();
    store = new ApiKeyStore(client as never);
  });
  after(async () => {
    await client?.quit();
    await redis?.stop();
  });

  it('creates a key whose secret is shown once and stored only as a salted hash', async () => {
    const { key, token } = await store.create('acme', { name: 'ci', scopes: ['tasks', 'tasks'] }, 'api_key:root');
    const parsed = parseKey(token)!;
    assert.equal(parsed.keyId, key.id);
    const raw = (await client.get(`keelson:apikeys:${key.id}`))!;
    assert.ok(!raw.includes(parsed.secret), 'the secret is not in Redis');
    assert.ok(secretMatches(parsed.secret, await store.get(key.id) as never));
    assert.deepEqual(key.scopes, ['tasks'], 'scopes de-duplicated');
    assert.equal(viewOf(key).status, 'active');
    assert.equal('hash' in viewOf(key) || 'salt' in viewOf(key), false, 'the view never shows the hash');
  });

  it("lists a tenant's keys only, and finds another tenant's key as missing", async () => {
    const mine = await store.create('t-one', { name: 'a', scopes: ['invoke'] }, 'x');
    await store.create('t-two', { name: 'b', scopes: ['invoke'] }, 'x');
    assert.deepEqual((await store.list('t-one')).map((k) => k.id), [mine.key.id]);
    assert.equal(await store.ofTenant('t-two', mine.key.id), undefined);
    assert.equal(await store.get('key0000000000000000'), undefined);
  });

  it('revokes for good, and says so in the status', async () => {
    const { key } = await store.create('acme', { name: 'r', scopes: ['invoke'] }, 'x');
    const revoked = await store.revoke(key, 'api_key:root');
    assert.equal(keyStatus(revoked), 'revoked');
    assert.equal(keyStatus((await store.get(key.id))!), 'revoked');
    assert.equal((await store.revoke(revoked, 'again')).revokedBy, 'api_key:root', 'revoking twice keeps the first record');
  });

  it('rotates: a new key with the same name and scopes; the old one works until the grace ends', async () => {
    const now = new Date('2026-11-27T10:00:00Z');
    const { key } = await store.create('acme', { name: 'svc', scopes: ['tasks', 'memory'] }, 'x', now);
    const rotated = await store.rotate(key, 600, 'api_key:root', now);
    assert.notEqual(rotated.key.id, key.id);
    assert.deepEqual([rotated.key.name, rotated.key.scopes], ['svc', ['tasks', 'memory']]);
    assert.equal(rotated.old.rotatedTo, rotated.key.id);
    assert.equal(rotated.old.expiresAt, '2026-11-27T10:10:00.000Z');
    assert.equal(keyStatus(rotated.old, now.getTime() + 599_000), 'active');
    assert.equal(keyStatus(rotated.old, now.getTime() + 600_000), 'expired');
    const soon = await store.create('acme', { name: 'short', scopes: ['tasks'], expiresAt: '2026-11-27T10:01:00Z' }, 'x', now);
    assert.equal((await store.rotate(soon.key, 600, 'x', now)).old.expiresAt, '2026-11-27T10:01:00.000Z', 'an earlier expiry is kept');
  });
});
