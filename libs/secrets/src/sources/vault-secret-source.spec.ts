import { strict as assert } from 'node:assert';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { inspect } from 'node:util';
import { freePort, waitFor } from '@keelson/testing';
import { SecretError } from '../errors';
import { parseSecretRef } from '../secret-ref';
import { startFakeVault, type FakeVault } from '../testing/fake-vault';
import { describeSecretSourceContract } from '../testing/secret-source-contract';
import { VaultSecretSource, type VaultSecretSourceOptions } from './vault-secret-source';

let dir: string;
let vault: FakeVault;
const sources: VaultSecretSource[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'keelson-vault-'));
  vault = await startFakeVault();
});
after(async () => {
  for (const s of sources) await s.stop();
  await vault.close();
  await rm(dir, { recursive: true, force: true });
});

let files = 0;
async function tokenFile(token: string): Promise<string> {
  const path = join(dir, `token-${++files}`);
  await writeFile(path, `${token}\n`, { mode: 0o400 });
  return path;
}
function open(options: Partial<VaultSecretSourceOptions> & { auth: VaultSecretSourceOptions['auth'] }): VaultSecretSource {
  const source = new VaultSecretSource({ address: vault.url, requestTimeoutMs: 5_000, ...options });
  sources.push(source);
  return source;
}
async function failure(source: VaultSecretSource, ref: string): Promise<SecretError> {
  const err = await source.get(parseSecretRef(ref, 'TEST_API_KEY')).then(
    () => assert.fail(`expected ${ref} to fail`),
    (e: unknown) => e,
  );
  assert.ok(err instanceof SecretError, `expected a SecretError, got ${inspect(err)}`);
  return err;
}
let paths = 0;
const path = (): string => `keelson/test-${++paths}`;

describeSecretSourceContract('VaultSecretSource (node-vault against the protocol-faithful fake Vault)', {
  async open() {
    const source = open({ auth: { tokenFile: await tokenFile(vault.createToken({ ttl: 3600, paths: ['secret/data/contract/*'] })) } });
    return {
      source,
      async put(key, value) {
        vault.put('secret', `contract/${key}`, { value, other: 'x' });
        return `vault:secret/data/contract/${key}#value`;
      },
      missing: (key) => `vault:secret/data/contract/${key}#value`,
      close: async () => undefined,
    };
  },
});

describe('VaultSecretSource', () => {
  it('reads a field of a KV v2 secret with its version, sending the token from the file', async () => {
    const p = path();
    vault.put('kv', p, { api_key: 'v1-key', region: 'eu' });
    vault.put('kv', p, { api_key: 'v2-key', region: 'eu' });
    const source = open({ auth: { tokenFile: await tokenFile(vault.rootToken) } });
    const got = await source.get(parseSecretRef(`vault:kv/data/${p}#api_key`, 'X'));
    assert.equal(got.secret.reveal(), 'v2-key');
    assert.equal(got.version, '2');
    assert.ok(vault.requests.includes(`GET /v1/kv/data/${p}`));
    assert.equal(source.status().state, 'ok');
  });

  it('a path outside the token policy is denied: 403, naming the path, never the token', async () => {
    const p = path();
    vault.put('secret', p, { api_key: 'secret-in-vault' });
    const token = vault.createToken({ ttl: 3600, paths: ['secret/data/elsewhere/*'] });
    const err = await failure(open({ auth: { tokenFile: await tokenFile(token) } }), `vault:secret/data/${p}#api_key`);
    assert.equal(err.kind, 'denied');
    assert.equal(err.message, `vault at ${vault.url} refused vault:secret/data/${p}: 403 permission denied`);
    assert.ok(!inspect(err).includes(token) && !inspect(err).includes('secret-in-vault'));
  });

  it('an unknown token is an auth error at start (lookup-self refused)', async () => {
    const err = await failure(open({ auth: { tokenFile: await tokenFile('hvs.not-a-real-token-xxxxxxxxxxxx') } }), 'vault:secret/data/x#f');
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /refused token lookup \(auth\/token\/lookup-self\): 403 permission denied$/);
    assert.ok(!err.message.includes('hvs.not-a-real'));
  });

  it('a missing path, a missing field and a soft-deleted secret are not-found; the message lists field names, never values', async () => {
    const p = path();
    vault.put('secret', p, { username: 'svc', password: 'pw-value-xyz' });
    const source = open({ auth: { tokenFile: await tokenFile(vault.rootToken) } });
    const missingPath = await failure(source, `vault:secret/data/${path()}#password`);
    assert.equal(missingPath.kind, 'not-found');
    assert.match(missingPath.message, /has no vault:secret\/data\/keelson\/test-\d+: 404 not found$/);
    const missingField = await failure(source, `vault:secret/data/${p}#api_key`);
    assert.equal(missingField.kind, 'not-found');
    assert.equal(missingField.message, `vault:secret/data/${p} has no field "api_key" (fields: username, password)`);
    assert.ok(!inspect(missingField).includes('pw-value-xyz'));
    vault.softDelete('secret', p);
    const deleted = await failure(source, `vault:secret/data/${p}#password`);
    assert.equal(deleted.kind, 'not-found');
  });

  it('an unmounted engine is not-found (404 no handler)', async () => {
    const err = await failure(open({ auth: { tokenFile: await tokenFile(vault.rootToken) } }), 'vault:nomount/data/x#f');
    assert.equal(err.kind, 'not-found');
  });

  it('Vault down (connection refused) is unavailable, naming the address and ECONNREFUSED', async () => {
    const port = await freePort();
    const source = new VaultSecretSource({ address: `http://127.0.0.1:${port}`, auth: { tokenFile: await tokenFile(vault.rootToken) } });
    const err = await failure(source, 'vault:secret/data/x#f');
    assert.equal(err.kind, 'unavailable');
    assert.equal(err.message, `vault at http://127.0.0.1:${port} is unreachable for token lookup (auth/token/lookup-self): ECONNREFUSED`);
    assert.ok(!inspect(err).includes(vault.rootToken), 'no token in the error (axios errors carry the headers)');
  });

  it('a missing or empty token file is an auth error naming the file', async () => {
    const missing = await failure(open({ auth: { tokenFile: join(dir, 'nope') } }), 'vault:secret/data/x#f');
    assert.equal(missing.kind, 'auth');
    assert.equal(missing.message, `cannot read the Vault token file ${join(dir, 'nope')}: ENOENT`);
    const empty = join(dir, 'empty-token');
    await writeFile(empty, '\n');
    assert.equal((await failure(open({ auth: { tokenFile: empty } }), 'vault:secret/data/x#f')).message, `the Vault token file ${empty} is empty`);
  });

  it('never falls back to the VAULT_TOKEN variable', async () => {
    process.env['VAULT_TOKEN'] = vault.rootToken;
    try {
      const err = await failure(open({ auth: { tokenFile: await tokenFile('hvs.wrong-token-xxxxxxxxxxxxxxxx') } }), 'vault:secret/data/x#f');
      assert.equal(err.kind, 'auth');
    } finally {
      delete process.env['VAULT_TOKEN'];
    }
  });

  it('renews the token (renew-self) at 2/3 of its TTL and stays ok', async () => {
    const token = vault.createToken({ ttl: 1, renewable: true });
    const source = open({ auth: { tokenFile: await tokenFile(token) } });
    await source.start();
    const before = vault.requests.filter((r) => r === 'POST /v1/auth/token/renew-self').length;
    await waitFor(() => vault.requests.filter((r) => r === 'POST /v1/auth/token/renew-self').length >= before + 2, { description: 'two renewals' });
    assert.equal(source.status().state, 'ok');
    const p = path();
    vault.put('secret', p, { k: 'still-readable' });
    assert.equal((await source.get(parseSecretRef(`vault:secret/data/${p}#k`, 'X'))).secret.reveal(), 'still-readable');
  });

  it('a failing renewal puts the source into renewal-failed, reports it without the token, then expired', async () => {
    const token = vault.createToken({ ttl: 2, renewable: true });
    const errors: SecretError[] = [];
    const source = open({ auth: { tokenFile: await tokenFile(token) }, retryRenewalMs: 100, onError: (e) => errors.push(e) });
    await source.start();
    vault.failRenewals(500);
    try {
      const failed = await waitFor(() => (source.status().state === 'renewal-failed' ? source.status() : undefined), { description: 'renewal-failed' });
      assert.match(failed.reason!, /answered token renewal \(auth\/token\/renew-self\) with HTTP 500/);
      await waitFor(() => source.status().state === 'expired', { description: 'the token to expire' });
      assert.ok(errors.length >= 2);
      assert.match(errors.at(-1)!.message, /^the Vault token has expired: /);
      for (const e of errors) assert.ok(!inspect(e).includes(token));
      const err = await failure(source, 'vault:secret/data/x#f');
      assert.equal(err.kind, 'auth');
    } finally {
      vault.failRenewals(false);
    }
  });

  it('a failing renewal recovers when the platform rewrites the token file', async () => {
    const file = await tokenFile(vault.createToken({ ttl: 2, renewable: true }));
    const source = open({ auth: { tokenFile: file }, retryRenewalMs: 100 });
    await source.start();
    vault.failRenewals(403);
    try {
      await waitFor(() => source.status().state === 'renewal-failed', { description: 'renewal-failed' });
      await writeFile(file, vault.createToken({ ttl: 3600, renewable: true }));
      await waitFor(() => source.status().state === 'ok', { description: 'ok with the new token' });
    } finally {
      vault.failRenewals(false);
    }
  });

  it('logs in with Kubernetes auth (role + service account token file) and reads with the issued token', async () => {
    const jwt = 'eyJhbGciOiJSUzI1NiJ9.service-account.sig';
    vault.addKubernetesRole('keelson-gateway', jwt, { ttl: 3600 });
    const jwtFile = join(dir, 'sa-token');
    await writeFile(jwtFile, jwt);
    const p = path();
    vault.put('secret', p, { api_key: 'from-k8s-login' });
    const source = open({ auth: { kubernetes: { role: 'keelson-gateway', jwtFile } } });
    assert.equal((await source.get(parseSecretRef(`vault:secret/data/${p}#api_key`, 'X'))).secret.reveal(), 'from-k8s-login');
    assert.ok(vault.requests.includes('POST /v1/auth/kubernetes/login'));

    await writeFile(jwtFile, 'eyJ.wrong.sig');
    const err = await failure(open({ auth: { kubernetes: { role: 'keelson-gateway', jwtFile } } }), `vault:secret/data/${p}#api_key`);
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /refused Kubernetes login \(role keelson-gateway\): 403 permission denied$/);
  });

  it('stop() clears the renewal timer: no renewal afterwards', async () => {
    for (const s of sources) await s.stop(); // the earlier tests' sources renew too
    const source = open({ auth: { tokenFile: await tokenFile(vault.createToken({ ttl: 1, renewable: true })) } });
    await source.start();
    await source.stop();
    const count = vault.requests.length;
    await new Promise((r) => setTimeout(r, 900));
    assert.equal(vault.requests.length, count, 'no request after stop()');
    assert.equal(source.status().state, 'stopped');
  });
});
