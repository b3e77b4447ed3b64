import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { fallback, FallbackExhaustedError, type FallbackAttempt } from './fallback';

const a = { provider: 'openai', model: 'gpt-4.1' };
const b = { provider: 'anthropic', model: 'claude-sonnet-4' };
const c = { provider: 'openai', model: 'gpt-4o-mini' };

describe('fallback', () => {
  it('returns the first candidate that answers, with the reason each earlier one was passed over', async () => {
    const seen: FallbackAttempt[] = [];
    const out = await fallback(
      [a, b, c],
      async (cand, signal) => {
        if (cand === a) throw new Error('429 rate limited');
        if (cand === b) return new Promise<string>((_, reject) => signal.addEventListener('abort', () => reject(new Error('aborted'))));
        return `answer from ${cand.model}`;
      },
      { timeoutMs: 30, onFallback: (x) => seen.push(x) },
    );
    assert.equal(out.result, 'answer from gpt-4o-mini');
    assert.deepEqual(out.candidate, c);
    assert.deepEqual(out.attempts.map((x) => [x.candidate.model, x.outcome, x.reason]), [
      ['gpt-4.1', 'error', '429 rate limited'],
      ['claude-sonnet-4', 'timeout', 'no answer within 30 ms'],
    ]);
    assert.deepEqual(seen, out.attempts);
  });

  it('abandons a candidate that ignores its abort signal at the timeout', async () => {
    const out = await fallback([a, b], async (cand) => (cand === a ? new Promise<string>(() => undefined) : 'ok'), { timeoutMs: 20 });
    assert.deepEqual([out.result, out.attempts[0]!.outcome], ['ok', 'timeout']);
  });

  it('stops at an error another model would repeat', async () => {
    const err = new Error('budget exceeded');
    await assert.rejects(fallback([a, b], async () => { throw err; }, { shouldFallback: (e) => e !== err }), (e) => e === err);
  });

  it('throws FallbackExhaustedError with every attempt when all fail', async () => {
    await assert.rejects(fallback([a, b], async (cand) => { throw new Error(`${cand.model} down`); }), (e: unknown) => {
      assert.ok(e instanceof FallbackExhaustedError);
      assert.deepEqual(e.attempts.map((x) => x.reason), ['gpt-4.1 down', 'claude-sonnet-4 down']);
      assert.match(e.message, /openai\/gpt-4\.1 \(error: gpt-4\.1 down\)/);
      return true;
    });
  });
});
