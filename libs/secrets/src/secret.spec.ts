import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { format, inspect } from 'node:util';
import { Secret } from './secret';
import { assertMasked } from './testing/secret-source-contract';

describe('Secret', () => {
  const value = 'sk-live-0123456789abcdef';

  it('reveal() returns the value', () => {
    assert.equal(new Secret(value).reveal(), value);
  });

  it('never shows the value through String, template, JSON, inspect, format or Object.entries', () => {
    const s = new Secret(value);
    assertMasked(s, value);
    assert.ok(!format('%s %o %O %j', s, s, s, s).includes(value));
    assert.ok(!inspect(s, { showHidden: true, depth: 10 }).includes(value));
    assert.deepEqual(Object.entries(s), []);
    assert.equal(`${s}`, '[secret]');
  });

  it('equals() compares values', () => {
    assert.ok(new Secret('a1').equals(new Secret('a1')));
    assert.ok(!new Secret('a1').equals(new Secret('a2')));
    assert.ok(!new Secret('a1').equals(new Secret('a1x')));
  });
});
