import type { BeginTurnResult } from '@keelson/state';

/** Why a running turn stopped holding its session: someone else took the turn, or the session is gone. */
export class LeaseLostError extends Error {
  override readonly name = 'LeaseLostError';
  constructor(readonly kind: Exclude<BeginTurnResult['kind'], 'ok'>) {
    super(kind === 'gone' ? 'the session was deleted or expired during the turn' : `the turn's lease was lost (${kind})`);
  }
}

/** A later message interrupted the turn (the `interrupt` policy): it ends without committing a reply. */
export class TurnCancelledError extends Error {
  override readonly name = 'TurnCancelledError';
  constructor() {
    super('the turn was interrupted by a later message');
  }
}

export interface LeaseKeeper {
  /**
   * Aborted with a LeaseLostError when a renewal finds the lease taken or the session gone, or with a
   * TurnCancelledError when it finds the turn interrupted.
   */
  readonly signal: AbortSignal;
  stop(): void;
}

/**
 * Keeps a turn's lease while its agent runs. beginTurn sets the lease for leaseMs, and a model may run
 * longer than that; without renewal a later turn would see the lease lapse, skip this turn as missing and
 * run ahead of it. Renewing is beginTurn again by the same owner (the store has no lighter call for it).
 * A renewal that fails on Redis is retried at the next tick: the lease only lapses if Redis stays away.
 */
export function keepLease(
  renew: () => Promise<BeginTurnResult>,
  everyMs: number,
  onError: (err: unknown) => void = () => undefined,
): LeaseKeeper {
  const abort = new AbortController();
  let renewing = false;
  const timer = setInterval(() => {
    if (renewing || abort.signal.aborted) return;
    renewing = true;
    renew()
      .then((result) => {
        if (result.kind !== 'ok') abort.abort(new LeaseLostError(result.kind));
        else if (result.cancelled) abort.abort(new TurnCancelledError());
      })
      .catch(onError)
      .finally(() => {
        renewing = false;
      });
  }, everyMs);
  timer.unref();
  return { signal: abort.signal, stop: () => clearInterval(timer) };
}
