import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startOidcIssuer, startRedis, type OidcIssuerHandle, type RedisServerHandle } from '@keelson/testing';
import { createClient } from 'redis';
import { ApiKeyStore } from './api-key-store';
import { Authenticator } from './authenticator';
import { JwtVerifier } from './jwt-verifier';
import { AuthError } from './principal';
import { StaticKeys, sha256Hex } from './static-keys';

describe('Authenticator (file keys, Redis keys, OIDC tokens)', () => {
  let redis: RedisServerHandle;
  let client: ReturnType<typeof createClient>;
  let idp: OidcIssuerHandle;
  let store: ApiKeyStore;
  let staticKeys: StaticKeys;

  before(async () => {
    [redis, idp] = await Promise.all([startRedis(), startOidcIssuer()]);
    client = createClient({ url: redis.url });
    await client.connect();
    store = new ApiKeyStore(client as never);
    const path = join(mkdtempSync(join(tmpdir(), 'keelson-auth-')), 'keys.json');
    writeFileSync(path, JSON.stringify({ keys: [{ id: 'boot', tenant: 'ops', sha256: sha256Hex('ks_boot_key'), scopes: ['*'] }] }));
    staticKeys = StaticKeys.fromFile(path);
  });
  after(async () => {
    await client?.quit();
    await Promise.all([redis?.stop(), idp?.stop()]);
  });

  const denied = (p: Promise<unknown>, reason: string) => assert.rejects(p, (err: unknown) => err instanceof AuthError && err.reason === reason);

  it('knows each kind of credential, and refuses a missing, malformed or unknown one with its reason', async () => {
    const jwt = new JwtVerifier({ issuer: idp.issuer, audience: 'keelson', clockToleranceSeconds: 0, tenantClaim: 'tenant', scopesClaim: 'scope' });
    const auth = new Authenticator({ staticKeys, store, jwt });
    const { token } = await store.create('acme', { name: 'ci', scopes: ['tasks'] }, 'x');
    assert.equal((await auth.authenticate('Bearer ks_boot_key')).keyId, 'boot');
    assert.deepEqual(await auth.authenticate(`Bearer ${token}`), { kind: 'api_key', keyId: token.slice(3, 22), tenant: 'acme', scopes: ['tasks'] });
    assert.equal((await auth.authenticate(`bearer ${await idp.sign({ sub: 'u1', tenant: 'acme', scope: 'invoke' })}`)).keyId, 'jwt:u1');
    await denied(auth.authenticate(undefined), 'missing_credentials');
    await denied(auth.authenticate('Basic abc'), 'malformed_credentials');
    await denied(auth.authenticate('Bearer ks_wrong'), 'unknown_key');
    await denied(auth.authenticate(`Bearer ${token.slice(0, -1)}A`), 'unknown_key');
  });

  it('stops a revoked key within the cache time, and at once on the replica that revoked it', async () => {
    let now = Date.parse('2026-11-27T10:00:00Z');
    const auth = new Authenticator({ staticKeys, store }, { cacheMs: 5_000 });
    const other = new Authenticator({ staticKeys, store }, { cacheMs: 5_000 });
    const { key, token } = await store.create('acme', { name: 'r', scopes: ['tasks'] }, 'x');
    await auth.authenticate(`Bearer ${token}`, now);
    await other.authenticate(`Bearer ${token}`, now);
    await store.revoke(key, 'admin');
    auth.forget(key.id);
    await assert.rejects(auth.authenticate(`Bearer ${token}`, now), (err: unknown) => err instanceof AuthError && err.reason === 'revoked_key' && err.known.tenant === 'acme');
    assert.equal((await other.authenticate(`Bearer ${token}`, now + 4_999)).keyId, key.id, 'cached on the other replica');
    now += 5_000;
    await denied(other.authenticate(`Bearer ${token}`, now), 'revoked_key');
  });

  it('never trusts a cached key past its expiry', async () => {
    const now = Date.parse('2026-11-27T10:00:00Z');
    const auth = new Authenticator({ staticKeys, store }, { cacheMs: 60_000 });
    const { token } = await store.create('acme', { name: 'e', scopes: ['tasks'], expiresAt: new Date(now + 1_000).toISOString() }, 'x');
    await auth.authenticate(`Bearer ${token}`, now);
    await denied(auth.authenticate(`Bearer ${token}`, now + 1_000), 'expired_key');
  });

  it('treats an API-format key as unknown when no key store is configured', async () => {
    const { token } = await store.create('acme', { name: 'n', scopes: ['tasks'] }, 'x');
    await denied(new Authenticator({ staticKeys }).authenticate(`Bearer ${token}`), 'unknown_key');
  });
});
