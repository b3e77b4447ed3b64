import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { countTokens, splitTokens } from './tokens';

describe('approximate tokenizer', () => {
  it('counts whitespace-separated words', () => {
    assert.equal(countTokens('hello, I am Ada'), 4);
    assert.equal(countTokens('  spaced\n\tout  '), 2);
    assert.equal(countTokens(''), 0);
  });

  it('splits into word-sized tokens that join back to the text, one per counted token', () => {
    const text = 'This is  turn 1.\nYou said: "hi" ';
    const tokens = splitTokens(text);
    assert.equal(tokens.join(''), text);
    assert.equal(tokens.length, countTokens(text));
  });
});
