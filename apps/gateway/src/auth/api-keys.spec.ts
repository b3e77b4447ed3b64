import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import { ApiKeys, hashApiKey } from './api-keys';
import { authenticate } from './authenticate';

function keysFile(content: unknown): string {
  const path = join(mkdtempSync(join(tmpdir(), 'keys-')), 'api-keys.json');
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const validFile = () => keysFile({ keys: [{ id: 'k1', tenant: 'dev', sha256: hashApiKey('secret-key'), scopes: ['*'] }] });

function refusal(fn: () => unknown): KeelsonError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeelsonError);
    return err;
  }
  assert.fail('expected a refusal');
}

describe('ApiKeys', () => {
  it('maps a presented key to its tenant through the stored hash', () => {
    const keys = ApiKeys.fromFile(validFile());
    assert.deepEqual(keys.verify('secret-key'), { keyId: 'k1', tenant: 'dev', scopes: ['*'] });
    assert.equal(keys.verify('other-key'), undefined);
  });

  it('refuses a file that is not JSON, naming the file', () => {
    const path = keysFile('{not json');
    assert.throws(() => ApiKeys.fromFile(path), new RegExp(path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')));
  });

  it('refuses a key entry holding something other than a SHA-256 hash, naming the field', () => {
    const path = keysFile({ keys: [{ id: 'k1', tenant: 'dev', sha256: 'plaintext-key' }] });
    assert.throws(() => ApiKeys.fromFile(path), /keys\.0\.sha256/);
  });

  it('refuses a missing file', () => {
    assert.throws(() => ApiKeys.fromFile('/nonexistent/keys.json'), /cannot read the API keys file/);
  });
});

describe('authenticate', () => {
  const keys = ApiKeys.fromFile(validFile());

  it('accepts a Bearer key', () => {
    assert.equal(authenticate(keys, 'Bearer secret-key').tenant, 'dev');
  });

  it('answers 401 naming the Authorization header when it is missing', () => {
    const err = refusal(() => authenticate(keys, undefined));
    assert.equal(err.status, 401);
    assert.equal(err.code, 'unauthorized');
    assert.equal(err.field, 'Authorization');
  });

  it('answers 401 for another scheme and for an unknown key', () => {
    assert.match(refusal(() => authenticate(keys, 'Basic abc')).message, /Bearer/);
    assert.match(refusal(() => authenticate(keys, 'Bearer wrong')).message, /unknown API key/);
  });
});
