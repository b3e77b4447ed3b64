import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { ModelProviderSettings } from '@keelson/config';
import type { MessagingLogger } from '@keelson/messaging';
import type { ProviderRegistry } from '@keelson/runtime';
import { startFakeVault, type FakeVault } from '@keelson/secrets/dist/testing/fake-vault';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { providersFrom, startModelProviderSecrets } from './model-providers';

const lines: string[] = [];
const logger: MessagingLogger = {
  debug: () => undefined,
  info: () => undefined,
  warn: (msg) => lines.push(msg),
  error: (msg) => lines.push(msg),
};

/** One chat call through the registry's openai provider; the fake records its Authorization header. */
async function call(registry: ProviderRegistry): Promise<void> {
  const provider = registry.get('openai');
  assert.ok(provider, `the openai provider is registered (got ${registry.names().join(', ')})`);
  for await (const chunk of provider.stream({ model: 'gpt-test', messages: [{ role: 'user', content: 'hi' }] })) void chunk;
}

const lastAuthorization = (fake: FakeOpenAIHandle): unknown => fake.requests.at(-1)?.headers['authorization'];

/** A Kubernetes-style secret volume: `name` -> `..data/name`, `..data` -> `..<version>/`. Returns `swap(value)`. */
function kubernetesVolume(dir: string, name: string, value: string): (value: string) => void {
  let n = 0;
  const write = (v: string): void => {
    const version = `..2026_11_27_${++n}`;
    mkdirSync(join(dir, version));
    writeFileSync(join(dir, version, name), `${v}\n`, { mode: 0o400 });
    symlinkSync(version, join(dir, '..data_tmp'));
    renameSync(join(dir, '..data_tmp'), join(dir, '..data')); // atomic, as the kubelet does
  };
  write(value);
  symlinkSync(join('..data', name), join(dir, name));
  return write;
}

describe('model provider keys from the secrets layer', () => {
  let fake: FakeOpenAIHandle;
  let vault: FakeVault;
  const dirs: string[] = [];
  const tempDir = (): string => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-provider-keys-'));
    dirs.push(dir);
    return dir;
  };
  before(async () => {
    [fake, vault] = await Promise.all([startFakeOpenAI(() => ({ text: 'ok' })), startFakeVault()]);
  });
  after(async () => {
    await Promise.all([fake?.stop(), vault?.close()]);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('sends the mounted key, and after a Kubernetes ..data swap the next call carries the new key without a restart', async () => {
    const dir = tempDir();
    const swap = kubernetesVolume(dir, 'openai_api_key', 'sk-first-key-0000000000');
    const settings: ModelProviderSettings = { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: join(dir, 'openai_api_key') };
    const keys = await startModelProviderSecrets(settings, logger);
    try {
      const registry = providersFrom(settings, keys);
      await call(registry);
      assert.equal(lastAuthorization(fake), 'Bearer sk-first-key-0000000000');

      swap('sk-second-key-111111111');
      // The directory watch (or the interval re-read) picks the new value up; no timing is asserted.
      await waitFor(() => keys.get('OPENAI_API_KEY').reveal() === 'sk-second-key-111111111', { description: 'the rotated key to be read' });
      await call(registry);
      assert.equal(lastAuthorization(fake), 'Bearer sk-second-key-111111111', 'the call after the rotation carries the new key');
    } finally {
      await keys.stop();
    }
  });

  it('a key file rewritten in place is picked up too', async () => {
    const dir = tempDir();
    const file = join(dir, 'key');
    writeFileSync(file, 'sk-plain-one-0000000000\n');
    const settings: ModelProviderSettings = { OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: file };
    const keys = await startModelProviderSecrets(settings, logger);
    try {
      const registry = providersFrom(settings, keys);
      writeFileSync(file, 'sk-plain-two-0000000000\n');
      await waitFor(() => keys.get('OPENAI_API_KEY').reveal() === 'sk-plain-two-0000000000', { description: 'the rewritten key to be read' });
      await call(registry);
      assert.equal(lastAuthorization(fake), 'Bearer sk-plain-two-0000000000');
    } finally {
      await keys.stop();
    }
  });

  it('takes OPENAI_API_KEY_REF=vault:... from Vault (token from VAULT_TOKEN_FILE) and follows a new KV version', async () => {
    vault.put('kv', 'keelson/openai', { api_key: 'sk-vault-v1-000000000000' });
    const tokenFile = join(tempDir(), 'vault-token');
    writeFileSync(tokenFile, vault.createToken({ ttl: 3_600, renewable: true, paths: ['kv/data/keelson/*'] }), { mode: 0o400 });
    const settings: ModelProviderSettings = {
      OPENAI_BASE_URL: fake.baseUrl,
      OPENAI_API_KEY_REF: 'vault:kv/data/keelson/openai#api_key',
      VAULT_ADDR: vault.url,
      VAULT_TOKEN_FILE: tokenFile,
    };
    const keys = await startModelProviderSecrets(settings, logger);
    try {
      const registry = providersFrom(settings, keys);
      await call(registry);
      assert.equal(lastAuthorization(fake), 'Bearer sk-vault-v1-000000000000');
      vault.put('kv', 'keelson/openai', { api_key: 'sk-vault-v2-000000000000' });
      await keys.refreshAll(); // what the interval re-read (SECRETS refreshIntervalMs, 60 s) does: KV v2 has no push
      await call(registry);
      assert.equal(lastAuthorization(fake), 'Bearer sk-vault-v2-000000000000');
    } finally {
      await keys.stop();
    }
  });

  it('refuses to start when a key cannot be read, naming the setting and the source', async () => {
    const missing = join(tempDir(), 'nope');
    await assert.rejects(
      startModelProviderSecrets({ OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: missing }, logger),
      (err: Error) => {
        assert.match(err.message, /OPENAI_API_KEY_FILE \(from file\)/);
        assert.match(err.message, /ENOENT/);
        assert.ok(err.message.includes(missing), err.message);
        return true;
      },
    );
    await assert.rejects(
      startModelProviderSecrets({ ANTHROPIC_API_KEY_REF: 'vault:kv/data/keelson/anthropic#api_key' }, logger),
      /ANTHROPIC_API_KEY_REF names a vault: reference: set VAULT_ADDR/,
    );
  });

  it('without a key setting there is no secret to fetch, and OPENAI_BASE_URL alone still registers the provider', async () => {
    const keys = await startModelProviderSecrets({ OPENAI_BASE_URL: fake.baseUrl }, logger);
    try {
      assert.deepEqual(providersFrom({ OPENAI_BASE_URL: fake.baseUrl }, keys).names().sort(), ['offline', 'openai']);
      await call(providersFrom({ OPENAI_BASE_URL: fake.baseUrl }, keys));
      assert.equal(lastAuthorization(fake), undefined);
    } finally {
      await keys.stop();
    }
  });
});
