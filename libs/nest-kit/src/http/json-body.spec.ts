import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { jsonDepthExceeds } from './json-body';

describe('jsonDepthExceeds', () => {
  const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

  it('counts arrays and objects alike, up to and past the limit', () => {
    assert.equal(jsonDepthExceeds(nested(64), 64), false);
    assert.equal(jsonDepthExceeds(nested(65), 64), true);
    assert.equal(jsonDepthExceeds('{"a":{"b":[{"c":1}]}}', 4), false);
    assert.equal(jsonDepthExceeds('{"a":{"b":[{"c":1}]}}', 3), true);
  });

  it('measures depth, not the number of siblings', () => {
    assert.equal(jsonDepthExceeds(`[${'[],'.repeat(1_000)}[]]`, 2), false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    assert.equal(jsonDepthExceeds(JSON.stringify({ text: '[[[[{{{{' }), 1), false);
    assert.equal(jsonDepthExceeds(JSON.stringify({ text: 'a "quoted" [[[ \\ ' }), 1), false);
  });

  it('stops early on a huge run of brackets', () => {
    assert.equal(jsonDepthExceeds('['.repeat(1_000_000), 64), true);
  });
});
