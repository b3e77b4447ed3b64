import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { decodeJson, encodeJson } from './codec';
import { InvalidJsonError } from './errors';

describe('JSON codec', () => {
  it('round-trips values, including unicode', () => {
    const value = { a: 1, b: ['x', null], c: 'héllo ✓' };
    assert.deepEqual(decodeJson(encodeJson(value)), value);
  });

  it('encodes undefined as null', () => {
    assert.equal(new TextDecoder().decode(encodeJson(undefined)), 'null');
  });

  it('rejects empty bodies, invalid JSON and invalid UTF-8 with InvalidJsonError', () => {
    assert.throws(() => decodeJson(new Uint8Array()), InvalidJsonError);
    assert.throws(() => decodeJson(new TextEncoder().encode('{nope')), /invalid JSON/);
    assert.throws(() => decodeJson(Uint8Array.of(0x22, 0xff, 0x22)), /not valid UTF-8/);
  });
});
