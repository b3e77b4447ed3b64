import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Slots } from './concurrency';

describe('Slots', () => {
  it('grants up to its size, then queues, and passes a released slot to the next waiter', async () => {
    const slots = new Slots(2);
    assert.equal(await slots.acquire(), true);
    assert.equal(await slots.acquire(), true);
    let third: boolean | undefined;
    const waiting = slots.acquire().then((granted) => (third = granted));
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(third, undefined, 'the third caller waits');
    slots.release();
    await waiting;
    assert.equal(third, true);
    assert.equal(slots.inUse, 2);
  });

  it('sends waiters away on abortWaiters()', async () => {
    const slots = new Slots(1);
    await slots.acquire();
    const waiting = slots.acquire();
    slots.abortWaiters();
    assert.equal(await waiting, false);
  });

  it('refuses a size below 1', () => {
    assert.throws(() => new Slots(0), RangeError);
  });
});
