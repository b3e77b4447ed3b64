import type { ConsumerSpec } from '@keelson/contracts';
import { DeferError, PoisonMessageError } from './errors';

export type Settlement =
  | { action: 'nak'; delayMs: number; deferred: boolean }
  | { action: 'dead-letter'; reason: string };

/**
 * What to do with a message whose handler threw, on its `deliveryCount`-th delivery (1 = first):
 * poison -> dead-letter now; defer -> nak(delay); any other error -> nak with the spec's backoff, or
 * dead-letter on the last delivery. A deferral on the last delivery is dead-lettered too, since JetStream
 * would not deliver it again.
 */
export function settleFailure(spec: ConsumerSpec, deliveryCount: number, err: unknown, random = Math.random): Settlement {
  if (isPoison(err)) return { action: 'dead-letter', reason: err.code ? `${err.code}: ${err.reason}` : err.reason };
  const last = deliveryCount >= spec.maxDeliver;
  if (isDefer(err)) {
    if (last) return { action: 'dead-letter', reason: `max_deliver reached while deferred: ${err.reason}` };
    return { action: 'nak', delayMs: Math.max(0, Math.round(err.delayMs)), deferred: true };
  }
  const message = err instanceof Error ? err.message : String(err);
  if (last) return { action: 'dead-letter', reason: `max_deliver reached: ${message}` };
  return { action: 'nak', delayMs: retryDelayMs(spec, deliveryCount, random), deferred: false };
}

/** The spec's backoff for the retry after delivery `deliveryCount` (the last value repeats), ±10 % jitter. */
export function retryDelayMs(spec: ConsumerSpec, deliveryCount: number, random = Math.random): number {
  const steps = spec.retryBackoffMs;
  if (steps.length === 0) return 0;
  const base = steps[Math.min(Math.max(deliveryCount - 1, 0), steps.length - 1)]!;
  return Math.max(0, Math.round(base * (0.9 + 0.2 * random())));
}

function isPoison(err: unknown): err is PoisonMessageError {
  return err instanceof PoisonMessageError || (err instanceof Error && err.name === 'PoisonMessageError' && 'reason' in err);
}

function isDefer(err: unknown): err is DeferError {
  return err instanceof DeferError || (err instanceof Error && err.name === 'DeferError' && typeof (err as DeferError).delayMs === 'number');
}
