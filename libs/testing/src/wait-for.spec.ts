import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { waitFor } from './wait-for';

describe('waitFor', () => {
  it('returns the first value that is not undefined, null or false', async () => {
    let calls = 0;
    const value = await waitFor(() => (++calls >= 3 ? { calls } : undefined), { description: 'three calls', intervalMs: 1 });
    assert.deepEqual(value, { calls: 3 });
  });

  it('keeps polling while the probe throws, and accepts 0 as a value', async () => {
    let calls = 0;
    const value = await waitFor(
      async () => {
        if (++calls < 3) throw new Error('not yet');
        return 0;
      },
      { description: 'a zero', intervalMs: 1 },
    );
    assert.equal(value, 0);
  });

  it('names the description and the last error when it times out', async () => {
    await assert.rejects(
      waitFor(
        () => {
          throw new Error('connection refused');
        },
        { description: 'the widget to appear', timeoutMs: 100, intervalMs: 10 },
      ),
      (err: Error) => {
        assert.match(err.message, /Timed out after 100 ms/);
        assert.match(err.message, /waiting for the widget to appear/);
        assert.match(err.message, /last error: connection refused/);
        return true;
      },
    );
  });

  it('names the last value when the probe never throws', async () => {
    await assert.rejects(
      waitFor(() => false, { description: 'a true value', timeoutMs: 50, intervalMs: 10 }),
      /waiting for a true value; last value: false/,
    );
  });
});
