import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { hashSecret } from './key-secret';
import { StaticKeys, sha256Hex } from './static-keys';

function file(body: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'keelson-keys-')), 'keys.json');
  writeFileSync(path, JSON.stringify(body));
  return path;
}

describe('StaticKeys (the mounted keys file)', () => {
  it('verifies salted entries, and unsalted ones with a warning naming the key', () => {
    const warnings: string[] = [];
    const keys = StaticKeys.fromFile(
      file({
        keys: [
          { id: 'salted', tenant: 'acme', ...hashSecret('ks_acme_secret'), scopes: ['invoke'] },
          { id: 'legacy', tenant: 'dev', sha256: sha256Hex('ks_dev_secret') },
        ],
      }),
      (w) => warnings.push(w),
    );
    assert.deepEqual(keys.verify('ks_acme_secret'), { kind: 'api_key', keyId: 'salted', tenant: 'acme', scopes: ['invoke'] });
    assert.deepEqual(keys.verify('ks_dev_secret'), { kind: 'api_key', keyId: 'legacy', tenant: 'dev', scopes: ['*'] });
    assert.equal(keys.verify('ks_nope'), undefined);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /"legacy".*unsalted/);
    assert.deepEqual(keys.tenants().sort(), ['acme', 'dev']);
  });

  it('refuses a file that is not JSON, an entry with both or neither hash forms, a bad tenant, a repeated id', () => {
    const bad = [
      [{ keys: [{ id: 'a', tenant: 'dev' }] }, /keys\.0.*either salt and hash, or sha256/],
      [{ keys: [{ id: 'a', tenant: 'dev', sha256: 'f'.repeat(64), ...hashSecret('x') }] }, /either salt and hash/],
      [{ keys: [{ id: 'a', tenant: 'Dev!', sha256: 'f'.repeat(64) }] }, /keys\.0\.tenant/],
      [{ keys: [{ id: 'a', tenant: 'dev', sha256: 'f'.repeat(64) }, { id: 'a', tenant: 'dev', sha256: 'e'.repeat(64) }] }, /"a" twice/],
    ] as const;
    for (const [body, message] of bad) assert.throws(() => StaticKeys.fromFile(file(body)), message);
    const notJson = file('x');
    writeFileSync(notJson, '{');
    assert.throws(() => StaticKeys.fromFile(notJson), /cannot read the API keys file/);
  });
});
