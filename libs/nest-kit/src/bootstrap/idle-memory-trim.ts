import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

export interface IdleMemoryTrimOptions {
  /** How often the event loop's busy share is sampled; default 5 000 ms. */
  checkEveryMs?: number;
  /** Consecutive quiet samples before the collection; default 3 (15 s with the default interval). */
  quietSamples?: number;
  /** A sample whose event-loop utilisation is below this is quiet; default 0.02 (2 % busy). */
  maxQuietUtilization?: number;
  /** The collector; default V8's full GC (see fullGc). Tests pass their own. */
  gc?: () => void;
  /** The event loop's utilisation since `previous`; default perf_hooks'. Tests pass their own. */
  utilization?: (previous?: EventLoopUtilization) => EventLoopUtilization;
}

export interface IdleMemoryTrim {
  /** Collections run so far. */
  trims(): number;
  stop(): void;
}

/**
 * V8 keeps the old-space pages a service grew into at start-up and under load (measured: 68–104 MB
 * committed against 53–73 MB used per service after 20 s at rest) until a memory-reducing GC runs, and a
 * process at rest allocates too little to start one. This runs one full GC once the event loop has been
 * quiet for `quietSamples` samples, which unmaps the freed pages (about 25 MB per service in
 * bench/mesh-memory.mjs). It runs once per quiet period: a service has to get busy again to re-arm it, so
 * a service at rest pays for one collection, not one per interval. The timer is unref'd and never keeps
 * the process alive.
 */
export function startIdleMemoryTrim(options: IdleMemoryTrimOptions = {}): IdleMemoryTrim {
  const checkEveryMs = options.checkEveryMs ?? 5_000;
  const quietSamples = options.quietSamples ?? 3;
  const maxQuiet = options.maxQuietUtilization ?? 0.02;
  const gc = options.gc ?? fullGc();
  const utilization = options.utilization ?? ((previous) => performance.eventLoopUtilization(previous));
  let last = utilization();
  let quiet = 0;
  let armed = true;
  let trims = 0;
  const timer = setInterval(() => {
    const now = utilization();
    const window = utilization(last);
    last = now;
    if (window.utilization >= maxQuiet) {
      quiet = 0;
      armed = true;
      return;
    }
    quiet += 1;
    if (armed && quiet >= quietSamples) {
      armed = false;
      trims += 1;
      gc();
    }
  }, checkEveryMs);
  timer.unref();
  return { trims: () => trims, stop: () => clearInterval(timer) };
}

/**
 * V8's full-GC function without exposing `gc` on the global object: `--expose-gc` is switched on only
 * while a throwaway context is created (the function is bound to this isolate's heap, not to that
 * context), then off again. A `gc` the process already has (node --expose-gc) is used as it is.
 */
export function fullGc(): () => void {
  const existing = (globalThis as { gc?: () => void }).gc;
  if (typeof existing === 'function') return existing;
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as () => void;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

/**
 * IDLE_GC_CHECK_MS from the environment: the sampling interval (the collection follows three quiet
 * samples), `0` switches the trim off. Unset: the default, 5 000 ms.
 */
export function idleGcCheckMs(env: Record<string, string | undefined> = process.env): number {
  const raw = env['IDLE_GC_CHECK_MS'];
  if (raw === undefined || raw === '') return 5_000;
  const ms = Number(raw);
  if (!Number.isInteger(ms) || ms < 0) throw new Error(`IDLE_GC_CHECK_MS must be a whole number of milliseconds >= 0 (0: off), got ${JSON.stringify(raw)}`);
  return ms;
}
