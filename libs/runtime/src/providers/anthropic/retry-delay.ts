const MAX_DELAY_MS = 60_000;

/**
 * How long to wait before retry number `attempt` (0-based): the server's `retry-after` when it sent one
 * (seconds or an HTTP date), else full jitter, a random wait up to `baseMs * 2^attempt`. Capped at a minute.
 */
export function retryDelayMs(attempt: number, baseMs: number, retryAfterMs?: number, random: () => number = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, MAX_DELAY_MS);
  return Math.floor(random() * Math.min(baseMs * 2 ** attempt, MAX_DELAY_MS));
}

/** A `retry-after` header in milliseconds, or undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now = Date.now()): number | undefined {
  if (header === null || header.trim() === '') return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds)) return Math.max(0, Math.round(seconds * 1000));
  const date = Date.parse(header);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
