/** A counting semaphore whose waiters can be sent away (on shutdown) instead of waiting forever. */
export class Slots {
  private used = 0;
  private readonly waiters: Array<(granted: boolean) => void> = [];

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`concurrency must be a positive integer, got ${size}`);
  }

  get inUse(): number {
    return this.used;
  }

  /** Resolves true with a slot, or false if abortWaiters() ran first. */
  acquire(): Promise<boolean> {
    if (this.used < this.size) {
      this.used++;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** A slot if one is free right now, without waiting. */
  tryAcquire(): boolean {
    if (this.used >= this.size) return false;
    this.used++;
    return true;
  }

  release(): void {
    const next = this.waiters.shift();
    if (next) next(true); // the slot passes straight to the next waiter
    else this.used = Math.max(0, this.used - 1);
  }

  abortWaiters(): void {
    for (const waiter of this.waiters.splice(0)) waiter(false);
  }
}
