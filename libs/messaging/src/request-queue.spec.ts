import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RequestQueue } from './request-queue';

/** A queue on a clock the test moves by hand. */
function queueAt(maxQueue: number, maxWaitMs: number) {
  const clock = { ms: 0 };
  const queue = new RequestQueue<string>({ maxQueue, maxWaitMs, clock: () => clock.ms });
  const refused: string[] = [];
  return { clock, queue, refused, refuse: (item: string) => refused.push(item) };
}

describe('RequestQueue', () => {
  it('hands waiters out first in, first out, with how long each waited', () => {
    const { clock, queue, refuse, refused } = queueAt(10, 100);
    assert.equal(queue.offer('a'), undefined);
    clock.ms = 10;
    assert.equal(queue.offer('b'), undefined);
    clock.ms = 30;
    assert.deepEqual(queue.next(refuse), { item: 'a', waitedMs: 30 });
    assert.deepEqual(queue.next(refuse), { item: 'b', waitedMs: 20 });
    assert.equal(queue.next(refuse), undefined);
    assert.deepEqual(refused, []);
  });

  it('refuses a newcomer when the queue is full', () => {
    const { queue } = queueAt(2, 100);
    queue.offer('a');
    queue.offer('b');
    assert.equal(queue.offer('c'), 'queue_full');
    assert.equal(queue.length, 2);
  });

  it('with no room at all (maxQueue 0) refuses every newcomer', () => {
    const { queue } = queueAt(0, 100);
    assert.equal(queue.offer('a'), 'queue_full');
  });

  it('refuses newcomers while the oldest waiter is past half the budget, and takes them again once it is gone', () => {
    const { clock, queue, refuse } = queueAt(10, 100);
    queue.offer('a');
    clock.ms = 50;
    assert.equal(queue.offer('b'), undefined, 'at exactly half the budget the queue is not yet standing');
    clock.ms = 51;
    assert.equal(queue.offer('c'), 'standing_queue');
    assert.equal(queue.next(refuse)?.item, 'a');
    assert.equal(queue.offer('d'), undefined, "b has waited 1 ms: the queue drains again");
  });

  it('passes waiters past the budget to refuse() and hands out the next one within it', () => {
    const { clock, queue, refuse, refused } = queueAt(10, 100);
    queue.offer('a');
    clock.ms = 40;
    queue.offer('b');
    clock.ms = 101;
    assert.deepEqual(queue.next(refuse), { item: 'b', waitedMs: 61 });
    assert.deepEqual(refused, ['a']);
  });

  it('expire() refuses only the waiters past the budget', () => {
    const { clock, queue, refuse, refused } = queueAt(10, 100);
    queue.offer('a');
    clock.ms = 30;
    queue.offer('b');
    clock.ms = 120;
    queue.expire(refuse);
    assert.deepEqual(refused, ['a']);
    assert.equal(queue.length, 1);
    clock.ms = 131;
    queue.expire(refuse);
    assert.deepEqual(refused, ['a', 'b']);
    assert.equal(queue.length, 0);
  });

  it('keeps the arrival time it is given, not the time of offer()', () => {
    const { clock, queue, refuse } = queueAt(10, 100);
    clock.ms = 20;
    queue.offer('a', 5);
    assert.deepEqual(queue.next(refuse), { item: 'a', waitedMs: 15 });
  });

  it('rejects settings that make no sense', () => {
    assert.throws(() => new RequestQueue({ maxQueue: -1, maxWaitMs: 100 }), RangeError);
    assert.throws(() => new RequestQueue({ maxQueue: 1.5, maxWaitMs: 100 }), RangeError);
    assert.throws(() => new RequestQueue({ maxQueue: 1, maxWaitMs: 0 }), RangeError);
  });
});
