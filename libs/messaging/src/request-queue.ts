/** Why a request was refused instead of queued or started. */
export type ShedReason = 'queue_full' | 'standing_queue' | 'queue_timeout';

export interface RequestQueueOptions {
  /** Requests waiting at most; a newcomer that finds the queue this long is refused. */
  maxQueue: number;
  /**
   * The longest a request may wait for a slot, in ms. A waiter past it is refused; while the oldest waiter
   * is past half of it, newcomers are refused too (a queue that does not empty within half the budget is
   * standing, and everyone joining it would wait longer still).
   */
  maxWaitMs: number;
  /** Milliseconds, monotonic; injected by tests. */
  clock?: () => number;
}

interface Waiter<T> {
  item: T;
  arrivedAt: number;
}

/**
 * The bounded FIFO in front of a responder's slots: it knows when each request arrived, so a request is
 * refused at once rather than left to wait past what its caller would accept. No timers of its own: the
 * owner calls expire() (on a timer) and next() (when a slot frees up).
 */
export class RequestQueue<T> {
  private readonly waiters: Waiter<T>[] = [];
  private readonly clock: () => number;

  constructor(private readonly opts: RequestQueueOptions) {
    if (!Number.isInteger(opts.maxQueue) || opts.maxQueue < 0) throw new RangeError(`maxQueue must be an integer >= 0, got ${opts.maxQueue}`);
    if (!(opts.maxWaitMs > 0)) throw new RangeError(`maxWaitMs must be positive, got ${opts.maxWaitMs}`);
    this.clock = opts.clock ?? (() => performance.now());
  }

  get length(): number {
    return this.waiters.length;
  }

  now(): number {
    return this.clock();
  }

  /** Queues `item` that arrived at `arrivedAt`, or says why it must be refused now. */
  offer(item: T, arrivedAt = this.clock()): ShedReason | undefined {
    if (this.waiters.length >= this.opts.maxQueue) return 'queue_full';
    const oldest = this.waiters[0];
    if (oldest && this.clock() - oldest.arrivedAt > this.opts.maxWaitMs / 2) return 'standing_queue';
    this.waiters.push({ item, arrivedAt });
    return undefined;
  }

  /** The next waiter still within its budget, with how long it waited; the expired ones it passes go to `refuse`. */
  next(refuse: (item: T) => void): { item: T; waitedMs: number } | undefined {
    this.expire(refuse);
    const head = this.waiters.shift();
    return head && { item: head.item, waitedMs: Math.max(0, this.clock() - head.arrivedAt) };
  }

  /** Takes out every waiter past the budget (they are the oldest, at the head) and hands each to `refuse`. */
  expire(refuse: (item: T) => void): void {
    const now = this.clock();
    while (this.waiters.length > 0 && now - this.waiters[0]!.arrivedAt > this.opts.maxWaitMs) refuse(this.waiters.shift()!.item);
  }
}
