import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { SettingsSecrets } from './settings-secrets';

describe('SettingsSecrets', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-settings-secrets-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const quiet = { onWarning: () => undefined };

  it('declares only the names whose _FILE or _REF is set, and reads them', async () => {
    const file = join(dir, 'openai');
    writeFileSync(file, 'sk-from-file-0000000000\n', { mode: 0o400 });
    const secrets = await SettingsSecrets.start({ OPENAI_API_KEY_FILE: file, PORT: 3000 }, ['OPENAI_API_KEY', 'ANTHROPIC_API_KEY'], quiet);
    try {
      assert.equal(secrets.has('OPENAI_API_KEY'), true);
      assert.equal(secrets.has('ANTHROPIC_API_KEY'), false);
      assert.equal(secrets.reader('ANTHROPIC_API_KEY'), undefined);
      assert.equal(secrets.reader('OPENAI_API_KEY')?.(), 'sk-from-file-0000000000');
      assert.equal(String(secrets.get('OPENAI_API_KEY')), '[secret]');
      assert.throws(() => secrets.get('ANTHROPIC_API_KEY'), /ANTHROPIC_API_KEY is not configured: set ANTHROPIC_API_KEY_FILE or ANTHROPIC_API_KEY_REF/);
    } finally {
      await secrets.stop();
    }
  });

  it('takes a file: reference in _REF', async () => {
    const file = join(dir, 'ref');
    writeFileSync(file, 'value-by-ref', { mode: 0o400 });
    const secrets = await SettingsSecrets.start({ A_KEY_REF: `file:${file}` }, ['A_KEY'], quiet);
    assert.equal(secrets.get('A_KEY').reveal(), 'value-by-ref');
    await secrets.stop();
  });

  it('names the setting when a secret cannot be fetched, and never quotes a bad reference', async () => {
    await assert.rejects(SettingsSecrets.start({ A_KEY_FILE: join(dir, 'missing') }, ['A_KEY'], quiet), /A_KEY_FILE \(from file\): .*ENOENT/);
    await assert.rejects(SettingsSecrets.start({ A_KEY_FILE: '/a', A_KEY_REF: 'file:/b' }, ['A_KEY'], quiet), /A_KEY: set A_KEY_FILE or A_KEY_REF, not both/);
    await assert.rejects(SettingsSecrets.start({ A_KEY_REF: 'sk-pasted-by-mistake-000000' }, ['A_KEY'], quiet), (err: Error) => {
      assert.match(err.message, /A_KEY_REF: not a secret reference/);
      assert.ok(!err.message.includes('sk-pasted'), err.message);
      return true;
    });
  });

  it('a vault: reference needs VAULT_ADDR and exactly one of VAULT_TOKEN_FILE / VAULT_KUBERNETES_ROLE', async () => {
    const ref = { A_KEY_REF: 'vault:kv/data/app#key' };
    await assert.rejects(SettingsSecrets.start(ref, ['A_KEY'], quiet), /A_KEY_REF names a vault: reference: set VAULT_ADDR/);
    await assert.rejects(SettingsSecrets.start({ ...ref, VAULT_ADDR: 'http://127.0.0.1:1' }, ['A_KEY'], quiet), /set VAULT_TOKEN_FILE or VAULT_KUBERNETES_ROLE/);
    await assert.rejects(
      SettingsSecrets.start({ ...ref, VAULT_ADDR: 'http://127.0.0.1:1', VAULT_TOKEN_FILE: '/t', VAULT_KUBERNETES_ROLE: 'r' }, ['A_KEY'], quiet),
      /not both/,
    );
  });
});
