import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SecretError } from './errors';
import { formatSecretRef, parseSecretRef } from './secret-ref';
import { secretRefFromSettings } from './secrets';

const badRef = (text: string): SecretError => {
  try {
    parseSecretRef(text, 'OPENAI_API_KEY_REF');
  } catch (err) {
    assert.ok(err instanceof SecretError);
    return err;
  }
  assert.fail(`expected ${text} to be refused`);
};

describe('parseSecretRef', () => {
  it('parses a file reference (file:/path and file:///path)', () => {
    assert.deepEqual(parseSecretRef('file:/run/secrets/openai_api_key', 'X'), { scheme: 'file', path: '/run/secrets/openai_api_key' });
    assert.deepEqual(parseSecretRef('file:///run/secrets/a', 'X'), { scheme: 'file', path: '/run/secrets/a' });
  });

  it('parses a Vault KV v2 reference: mount, path and field', () => {
    assert.deepEqual(parseSecretRef('vault:kv/data/keelson/openai#api_key', 'X'), { scheme: 'vault', mount: 'kv', path: 'keelson/openai', field: 'api_key' });
    assert.deepEqual(parseSecretRef('vault:team/kv/data/app#pw', 'X'), { scheme: 'vault', mount: 'team/kv', path: 'app', field: 'pw' });
    assert.equal(formatSecretRef(parseSecretRef('vault:kv/data/keelson/openai#api_key', 'X')), 'vault:kv/data/keelson/openai#api_key');
  });

  it('refuses bad syntax with a bad-ref error naming the setting and the accepted forms', () => {
    for (const text of ['', 'file:relative/path', 'file:', 'vault:kv/keelson/openai#api_key', 'vault:kv/data/keelson/openai', 'vault:kv/data/x#', 'vault:kv/data/../x#f', 'vault:kv/data/x#a b', 's3:bucket/key', '/run/secrets/x']) {
      const err = badRef(text);
      assert.equal(err.kind, 'bad-ref');
      assert.match(err.message, /^OPENAI_API_KEY_REF: not a secret reference: .+ \(expected file:\/absolute\/path or vault:<mount>\/data\/<path>#<field>\)$/, err.message);
    }
    assert.match(badRef('s3:bucket/key').message, /unknown scheme "s3:"/);
  });

  it('never quotes the text: a secret pasted into a reference setting stays out of the message', () => {
    for (const pasted of ['sk-proj-abcdefghijklmnop1234', 'hunter2:with-colon-and-more', 'vault:kv/data/sk-live-zzzzzzzzzz']) {
      const err = badRef(pasted);
      assert.ok(!err.message.includes(pasted) && !err.message.includes('sk-'), err.message);
    }
  });
});

describe('secretRefFromSettings', () => {
  it('takes <NAME>_FILE as a file path and <NAME>_REF as any reference', () => {
    assert.deepEqual(secretRefFromSettings({ OPENAI_API_KEY_FILE: '/run/secrets/openai' }, 'OPENAI_API_KEY'), { scheme: 'file', path: '/run/secrets/openai' });
    assert.deepEqual(secretRefFromSettings({ OPENAI_API_KEY_REF: 'vault:kv/data/k#f' }, 'OPENAI_API_KEY'), { scheme: 'vault', mount: 'kv', path: 'k', field: 'f' });
    assert.equal(secretRefFromSettings({}, 'OPENAI_API_KEY'), undefined);
  });

  it('refuses both set, and names the setting of a bad one', () => {
    assert.throws(() => secretRefFromSettings({ A_FILE: '/x', A_REF: 'file:/y' }, 'A'), /A: set A_FILE or A_REF, not both/);
    assert.throws(() => secretRefFromSettings({ A_FILE: 'relative' }, 'A'), /^SecretError: A_FILE: /);
  });
});
