export interface WaitForOptions {
  /** Default 10 000 ms. */
  timeoutMs?: number;
  /** Pause between probes; default 50 ms. */
  intervalMs?: number;
  /** What is awaited, in words; it names the wait in the timeout error. */
  description: string;
}

/**
 * Polls `probe` until it returns a value other than undefined, null or false, and returns that value.
 * A probe that throws counts as "not yet"; on timeout the error names the description, the last error
 * and the last value seen, so a failing test says what it waited for and what it saw.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | false> | T | undefined | false,
  opts: WaitForOptions,
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const intervalMs = opts.intervalMs ?? 50;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  let lastValue: unknown;
  let attempts = 0;
  for (;;) {
    attempts++;
    try {
      const value = await probe();
      if (value !== undefined && value !== null && value !== false) return value as T;
      lastValue = value;
      lastError = undefined;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() >= deadline) break;
    await new Promise((resolve) => setTimeout(resolve, Math.min(intervalMs, Math.max(0, deadline - Date.now()))));
  }
  const detail =
    lastError !== undefined
      ? `last error: ${lastError instanceof Error ? lastError.message : String(lastError)}`
      : `last value: ${String(lastValue)}`;
  const error = new Error(`Timed out after ${timeoutMs} ms (${attempts} attempts) waiting for ${opts.description}; ${detail}`);
  if (lastError !== undefined) (error as Error & { cause?: unknown }).cause = lastError;
  throw error;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
