import type { RoutingCandidate } from './routing-policy';

/** One candidate that did not answer, and why: goes into the routing decision event. */
export interface FallbackAttempt {
  candidate: RoutingCandidate;
  outcome: 'error' | 'timeout';
  reason: string;
  elapsedMs: number;
}

export interface FallbackOptions {
  /** Per candidate; on expiry its signal aborts and the next candidate is tried. Default: no timeout. */
  timeoutMs?: number;
  /**
   * Whether an error moves on to the next candidate; default yes. Return false for errors another model would
   * repeat (a budget refusal, a bad request) and once a stream has sent output to the client.
   */
  shouldFallback?: (err: unknown, candidate: RoutingCandidate) => boolean;
  /** Told about each failed candidate as it happens (e.g. to publish the decision event). */
  onFallback?: (attempt: FallbackAttempt) => void;
}

export interface FallbackResult<T> {
  result: T;
  candidate: RoutingCandidate;
  /** The candidates that failed before this one, in order. */
  attempts: FallbackAttempt[];
}

/** Every candidate failed: carries each attempt's reason. */
export class FallbackExhaustedError extends Error {
  constructor(readonly attempts: FallbackAttempt[], readonly lastError: unknown) {
    super(`every candidate failed: ${attempts.map((a) => `${a.candidate.provider}/${a.candidate.model} (${a.outcome}: ${a.reason})`).join('; ')}`);
    this.name = 'FallbackExhaustedError';
  }
}

class CandidateTimeout extends Error {}

/**
 * Runs `call` on each candidate in order until one succeeds, recording why each earlier one was passed over.
 * A call that ignores its abort signal is abandoned at the timeout (its late result is dropped).
 */
export async function fallback<T>(
  candidates: readonly RoutingCandidate[],
  call: (candidate: RoutingCandidate, signal: AbortSignal) => Promise<T>,
  options: FallbackOptions = {},
): Promise<FallbackResult<T>> {
  const attempts: FallbackAttempt[] = [];
  let lastError: unknown = new Error('no candidates');
  for (const candidate of candidates) {
    const started = Date.now();
    const abort = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    try {
      const running = call(candidate, abort.signal);
      running.catch(() => undefined);
      const timeout = options.timeoutMs === undefined ? undefined : new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          abort.abort(new CandidateTimeout(`no answer within ${options.timeoutMs} ms`));
          reject(abort.signal.reason);
        }, options.timeoutMs);
      });
      const result = await (timeout ? Promise.race([running, timeout]) : running);
      return { result, candidate, attempts };
    } catch (err) {
      lastError = err;
      const timedOut = err instanceof CandidateTimeout;
      if (!timedOut && options.shouldFallback && !options.shouldFallback(err, candidate)) throw err;
      const attempt: FallbackAttempt = {
        candidate,
        outcome: timedOut ? 'timeout' : 'error',
        reason: err instanceof Error ? err.message : String(err),
        elapsedMs: Date.now() - started,
      };
      attempts.push(attempt);
      options.onFallback?.(attempt);
    } finally {
      clearTimeout(timer);
    }
  }
  throw new FallbackExhaustedError(attempts, lastError);
}
