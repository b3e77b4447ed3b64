export interface DeltaCoalescerOptions {
  /** Flush as soon as this many characters are buffered. A single push longer than this goes out whole. */
  maxChars: number;
  /** Otherwise flush this long after the first unflushed push, so a slow model still streams. */
  maxDelayMs: number;
  /**
   * Send the first text at once, and batch only what follows: someone is watching, and time to first token
   * is what they feel. Costs one more event per run, so async tasks leave it off.
   */
  firstImmediately?: boolean;
  flush: (text: string) => void;
}

/**
 * Batches text deltas before they are published: one message per token would flood NATS and every SSE
 * client. An instant model's whole reply (under maxChars) comes out as one delta at end(); a slow one
 * streams every maxDelayMs. The delay runs from the first buffered character, not the last, so a steady
 * trickle of tokens cannot hold text back indefinitely.
 */
export class DeltaCoalescer {
  private buffer = '';
  private timer: NodeJS.Timeout | undefined;
  private ended = false;
  private flushedAny = false;
  // A flush that throws from the timer has no caller to tell; it is rethrown by the next push() or end().
  private failure: unknown;

  constructor(private readonly options: DeltaCoalescerOptions) {}

  push(text: string): void {
    this.rethrowFailure();
    if (this.ended) throw new Error('DeltaCoalescer: push() after end()');
    if (text === '') return;
    this.buffer += text;
    if (this.buffer.length >= this.options.maxChars || (this.options.firstImmediately && !this.flushedAny)) this.flushNow();
    else this.timer ??= setTimeout(() => this.flushFromTimer(), this.options.maxDelayMs);
  }

  /** Flushes what is buffered now, e.g. before another event that must follow the text so far. */
  flush(): void {
    this.rethrowFailure();
    this.flushNow();
  }

  /** Flushes what is left; call it when the stream ends, whichever way. Safe to call twice. */
  end(): void {
    if (this.ended) return;
    this.ended = true;
    this.flushNow();
    this.rethrowFailure();
  }

  private flushFromTimer(): void {
    try {
      this.flushNow();
    } catch (err) {
      this.failure = err;
    }
  }

  private flushNow(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.buffer === '') return;
    const text = this.buffer;
    this.buffer = '';
    this.flushedAny = true;
    this.options.flush(text);
  }

  private rethrowFailure(): void {
    if (this.failure === undefined) return;
    const failure = this.failure;
    this.failure = undefined;
    throw failure;
  }
}
