import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { formatKey, hashSecret, newKeyId, newSecret, parseKey, secretMatches } from './key-secret';

describe('API key secrets', () => {
  it('formats ks_{keyId}.{secret} and parses it back; anything else is not an API-format key', () => {
    const id = newKeyId();
    const secret = newSecret();
    assert.match(id, /^key[0-9a-f]{16}$/);
    assert.deepEqual(parseKey(formatKey(id, secret)), { keyId: id, secret });
    for (const other of ['ks_dev_abc', `ks_${id}.short`, `${id}.${secret}`, `ks_${id}.${secret}x`, 'eyJ.a.b']) assert.equal(parseKey(other), undefined, other);
  });

  it('hashes with a fresh salt each time and checks in constant time', () => {
    const secret = newSecret();
    const a = hashSecret(secret);
    const b = hashSecret(secret);
    assert.notEqual(a.salt, b.salt);
    assert.notEqual(a.hash, b.hash, 'the same secret never hashes the same twice');
    assert.ok(secretMatches(secret, a) && secretMatches(secret, b));
    assert.equal(secretMatches(newSecret(), a), false);
    assert.equal(secretMatches(secret, { salt: a.salt, hash: 'ab' }), false, 'a damaged stored hash matches nothing');
  });
});
