import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { extractMemories } from './memory-policy';

describe('extractMemories (the memory policy)', () => {
  it('keeps the facts the user stated, one per sentence', () => {
    assert.deepEqual(
      extractMemories({ userText: 'Hi! My name is Ada. I like green tea. Remember that my flight is on Monday. What time is it?' }),
      ["The user's name is Ada", 'The user likes green tea', 'My flight is on Monday'],
    );
  });

  it('covers preferences, identity, work and home, and skips questions and small talk', () => {
    assert.deepEqual(extractMemories({ userText: "I don't like olives\nI'm a nurse\nI work at the city hospital\nI live in Lyon\nmy favourite colour is teal" }), [
      'The user does not like olives',
      'The user is a nurse',
      'The user works at the city hospital',
      'The user lives in Lyon',
      "The user's favourite colour is teal",
    ]);
    assert.deepEqual(extractMemories({ userText: 'Do I like tea? hello there. thanks' }), []);
  });

  it('drops repeated facts', () => {
    assert.deepEqual(extractMemories({ userText: 'I love jazz. I love jazz!' }), ['The user loves jazz']);
  });
});
