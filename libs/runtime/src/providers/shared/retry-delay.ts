// Shared by every HTTP model provider: when and how long to wait before retrying a request.
/**
 * `Retry-After` as milliseconds: delta-seconds or an HTTP date; OpenAI's `retry-after-ms` wins when present.
 * Undefined when absent or unreadable.
 */
export function parseRetryAfter(headers: Headers, now = Date.now()): number | undefined {
  const ms = Number(headers.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms) && ms >= 0) return ms;
  const value = headers.get('retry-after')?.trim();
  if (!value) return undefined;
  if (/^\d+(\.\d+)?$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The pause before retry number `attempt` (0 = first retry): the server's `Retry-After` when it gave one,
 * else full jitter, random in [0, base * 2^attempt]; either way at most `capMs`.
 */
export function retryDelayMs(attempt: number, baseMs: number, capMs: number, retryAfterMs?: number, random = Math.random): number {
  if (retryAfterMs !== undefined) return Math.min(retryAfterMs, capMs);
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}
