import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { BeginTurnResult } from '@keelson/state';
import { LeaseLostError, keepLease } from './lease-keeper';

// The keeper's timer is unref'd (it must not hold a process open); this one keeps the test alive meanwhile.
const until = (signal: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the lease keeper never aborted')), 5_000);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });

describe('keepLease', () => {
  it('renews while the renewal answers ok, and aborts with the reason once it does not', async () => {
    const answers: BeginTurnResult['kind'][] = ['ok', 'ok', 'busy'];
    let calls = 0;
    const keeper = keepLease(async () => ({ kind: answers[calls++]! }) as BeginTurnResult, 5);
    await until(keeper.signal);
    keeper.stop();
    assert.equal(calls, 3);
    assert.ok(keeper.signal.reason instanceof LeaseLostError);
    assert.equal((keeper.signal.reason as LeaseLostError).kind, 'busy');
  });

  it('keeps trying through a failing renewal (Redis away for a moment) and reports the error', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const keeper = keepLease(
      async () => {
        calls++;
        if (calls === 1) throw new Error('ECONNRESET');
        return { kind: 'gone' };
      },
      5,
      (err) => errors.push(err),
    );
    await until(keeper.signal);
    keeper.stop();
    assert.equal(errors.length, 1);
    assert.equal((keeper.signal.reason as LeaseLostError).kind, 'gone');
  });
});
