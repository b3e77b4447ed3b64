import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { KeelsonError } from './errors';
import { InvokeRequestSchema } from './invoke';
import { CreateTaskRequestSchema } from './tasks';
import { parseOrThrow } from './validation';

function rejection(fn: () => unknown): KeelsonError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof KeelsonError, `expected a KeelsonError, got ${String(err)}`);
    return err;
  }
  assert.fail('expected the input to be refused');
}

describe('parseOrThrow', () => {
  it('names the nested field at fault', () => {
    const err = rejection(() =>
      parseOrThrow(InvokeRequestSchema, { messages: [{ role: 'user', content: 'hi' }, { role: 'user', content: 3 }] }),
    );
    assert.equal(err.status, 400);
    assert.equal(err.code, 'validation_failed');
    assert.equal(err.field, 'messages[1].content');
  });

  it('refuses a body that gives both input and messages', () => {
    const err = rejection(() => parseOrThrow(InvokeRequestSchema, { input: 'a', messages: [{ role: 'user', content: 'b' }] }));
    assert.equal(err.field, 'input');
  });

  it('refuses unknown fields, naming them', () => {
    const err = rejection(() => parseOrThrow(CreateTaskRequestSchema, { agentId: 'assistant', input: 'x', extra: 1 }));
    assert.match(err.message, /extra/);
    assert.equal(err.field, 'extra');
  });

  it('prefixes paths with the given root', () => {
    const err = rejection(() => parseOrThrow(CreateTaskRequestSchema, { agentId: 'Bad Agent', input: 'x' }, 'body'));
    assert.equal(err.field, 'body.agentId');
  });

  it('returns the parsed value when valid', () => {
    assert.deepEqual(parseOrThrow(InvokeRequestSchema, { input: 'hello' }), { input: 'hello' });
  });
});
