/**
 * Admission control for one class of requests, framework-free: at most `limit` requests are worked on at
 * once, the rest wait in a bounded FIFO queue, and a request is shed (refused before any work) when the
 * queue is full, when it has waited too long, or at once when the queue is standing (its oldest waiter
 * has waited past half the maximum: a newcomer would only time out behind it, so it is better told now).
 *
 * With `adaptive`, the limit follows the latency of admitted requests (the gradient idea of Netflix's
 * concurrency-limits): it shrinks while recent latency is above the lane's baseline times a tolerance, and
 * grows by a little while the lane is full and latency is normal, so it finds the knee of the service behind
 * it and the fixed `maxInFlight` is only a ceiling. That reads every rise of latency as queueing, which is
 * sound only where latency is the service's own work: a lane whose requests wait on a model (seconds one
 * call, milliseconds the next) must not be adaptive, it would shrink on a slow prompt while the gateway
 * idles (the gateway chooses per lane: libs/config ADMISSION_ADAPTIVE_LANES). And an adaptive lane changes
 * its limit only after a window in which some request found it full: a lane that keeps up with its arrivals
 * is not overloaded whatever its latency (overload is arrivals above what is served, and then in-flight
 * climbs to the limit), and a lane below its limit says nothing about a bigger one. Netflix's Gradient2
 * skips windows below half the limit for the same reason; this is stricter, so a few slow requests at low
 * concurrency cannot shrink a lane.
 */

/** Milliseconds on a monotonic clock; injected so tests drive time themselves. */
export type Clock = () => number;

/** Timers, injected for the same reason. */
export interface Timers {
  set(fn: () => void, ms: number): unknown;
  clear(handle: unknown): void;
}

export const systemTimers: Timers = {
  set: (fn, ms) => {
    const handle = setTimeout(fn, ms);
    handle.unref();
    return handle;
  },
  clear: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

export interface LaneSettings {
  /** The most requests worked on at once (the ceiling of an adaptive limit). */
  maxInFlight: number;
  /** The least an adaptive limit goes down to. */
  minInFlight: number;
  /** The most requests waiting for a slot; one more is shed at once. */
  maxQueue: number;
  /** The longest a request waits for a slot before it is shed. */
  maxQueueWaitMs: number;
  /** Whether the limit follows latency (see above) or stays at maxInFlight. */
  adaptive: boolean;
}

export type ShedReason = 'queue_full' | 'queue_timeout' | 'standing_queue' | 'event_loop' | 'client_gone';

export type Admission =
  | { admitted: true; waitedMs: number; release: () => void }
  | { admitted: false; reason: ShedReason; waitedMs: number; retryAfterSeconds: number };

export interface LaneSnapshot {
  limit: number;
  inFlight: number;
  queued: number;
}

interface Waiter {
  enqueuedAt: number;
  timer: unknown;
  settle: (admission: Admission) => void;
}

/** Samples per gradient step: small enough to react within a second at tens of requests per second. */
const WINDOW_SAMPLES = 32;
/** Recent latency may be this much above the lane's baseline before the limit shrinks. */
const TOLERANCE = 1.5;
/**
 * A higher latency is learned into the baseline over about this many windows (some 2,000 samples): slowly,
 * so the climb at the start of an overload, before the lane fills, is not mistaken for slower work.
 */
const BASELINE_RISE_WINDOWS = 64;
/** How far one step moves the limit towards its new value. */
const SMOOTHING = 0.2;
/** Retry-After is at least 1 s (the header's unit) and at most this. */
const MAX_RETRY_AFTER_SECONDS = 10;

export class AdmissionLane {
  private inFlight = 0;
  private limitValue: number;
  private readonly queue: Waiter[] = [];
  private windowSum = 0;
  private windowCount = 0;
  /** Whether the lane was at its limit at some point of the window (a request found no free slot). */
  private windowSaturated = false;

  private baselineMs = 0;
  /** Mean latency of admitted requests, for Retry-After. */
  private meanServiceMs = 0;

  constructor(
    readonly settings: LaneSettings,
    private readonly clock: Clock = () => performance.now(),
    private readonly timers: Timers = systemTimers,
  ) {
    this.limitValue = settings.maxInFlight;
  }

  get limit(): number {
    return Math.floor(this.limitValue);
  }

  snapshot(): LaneSnapshot {
    return { limit: this.limit, inFlight: this.inFlight, queued: this.queue.length };
  }

  /**
   * Asks for a slot. `busy` says the process itself is saturated (event-loop delay above its limit): then a
   * request that would have to wait is shed instead of queued. `signal` aborts the wait (the client left).
   */
  admit(options: { busy?: boolean; signal?: AbortSignal } = {}): Admission | Promise<Admission> {
    const start = this.clock();
    if (this.inFlight < this.limit && this.queue.length === 0) return this.grant(start, start);
    this.windowSaturated = true;
    if (options.busy) return this.shed('event_loop', 0);
    if (this.queue.length >= this.settings.maxQueue) return this.shed('queue_full', 0);
    const oldest = this.queue[0];
    if (oldest && start - oldest.enqueuedAt >= this.settings.maxQueueWaitMs / 2) return this.shed('standing_queue', 0);
    if (options.signal?.aborted) return this.shed('client_gone', 0);
    return new Promise<Admission>((resolve) => {
      const waiter: Waiter = {
        enqueuedAt: start,
        timer: undefined,
        settle: (admission) => {
          this.timers.clear(waiter.timer);
          options.signal?.removeEventListener('abort', onAbort);
          resolve(admission);
        },
      };
      const leave = (reason: ShedReason) => {
        const at = this.queue.indexOf(waiter);
        if (at < 0) return;
        this.queue.splice(at, 1);
        waiter.settle(this.shed(reason, this.clock() - start));
      };
      const onAbort = () => leave('client_gone');
      waiter.timer = this.timers.set(() => leave('queue_timeout'), this.settings.maxQueueWaitMs);
      options.signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
    });
  }

  private grant(enqueuedAt: number, now: number): Admission {
    this.inFlight++;
    if (this.inFlight >= this.limit) this.windowSaturated = true;
    let released = false;
    return {
      admitted: true,
      waitedMs: now - enqueuedAt,
      release: () => {
        if (released) return;
        released = true;
        this.inFlight--;
        this.observe(this.clock() - now);
        this.drain();
      },
    };
  }

  private drain(): void {
    while (this.inFlight < this.limit && this.queue.length > 0) {
      const waiter = this.queue.shift()!;
      waiter.settle(this.grant(waiter.enqueuedAt, this.clock()));
    }
  }

  private shed(reason: ShedReason, waitedMs: number): Admission {
    return { admitted: false, reason, waitedMs, retryAfterSeconds: this.retryAfterSeconds() };
  }

  /** About when a slot frees for a newcomer: the queue ahead of it, served `limit` at a time. */
  private retryAfterSeconds(): number {
    const seconds = ((this.queue.length + 1) * this.meanServiceMs) / Math.max(1, this.limit) / 1_000;
    return Math.min(MAX_RETRY_AFTER_SECONDS, Math.max(1, Math.ceil(seconds)));
  }

  private observe(latencyMs: number): void {
    this.meanServiceMs = this.meanServiceMs === 0 ? latencyMs : this.meanServiceMs + (latencyMs - this.meanServiceMs) / 64;
    if (!this.settings.adaptive) return;
    this.windowSum += latencyMs;
    this.windowCount++;
    if (this.windowCount < WINDOW_SAMPLES) return;
    const shortRtt = this.windowSum / this.windowCount;
    const saturated = this.windowSaturated;
    this.windowSum = 0;
    this.windowCount = 0;
    this.windowSaturated = this.inFlight >= this.limit;
    this.step(shortRtt, saturated);
  }

  /**
   * One gradient step at the end of a window of samples. The baseline is the latency of the lane when it is
   * not pushed: it follows any lower window at once, and a higher one only while the lane was not at its
   * limit (the work itself got slower: a bigger model, longer prompts). While the lane is full, a higher
   * latency is queueing behind it, which the baseline must not learn, or the limit drifts up with the load
   * (the weakness of a plain long-run average). The limit itself moves only after a window in which the
   * lane was full (see the top of the file).
   */
  private step(shortRtt: number, saturated: boolean): void {
    if (this.baselineMs === 0 || shortRtt < this.baselineMs) this.baselineMs = shortRtt;
    else if (!saturated) this.baselineMs += (shortRtt - this.baselineMs) / BASELINE_RISE_WINDOWS;
    if (!saturated) return;
    const gradient = Math.max(0.5, Math.min(1, (TOLERANCE * this.baselineMs) / Math.max(shortRtt, 1e-3)));
    const target = this.limitValue * gradient + Math.sqrt(this.limitValue);
    const next = this.limitValue * (1 - SMOOTHING) + target * SMOOTHING;
    this.limitValue = Math.max(this.settings.minInFlight, Math.min(this.settings.maxInFlight, next));
    this.drain();
  }
}
