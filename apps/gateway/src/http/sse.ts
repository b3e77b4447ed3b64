import type { ServerResponse } from 'node:http';

/**
 * A Server-Sent Events writer over a raw Node response. Comments every 15 s keep proxies from closing an
 * idle stream; `closed` resolves when the client goes away, so producers can stop.
 */
export class SseStream {
  readonly closed: Promise<void>;
  private ended = false;
  private readonly keepAlive: NodeJS.Timeout;

  constructor(private readonly res: ServerResponse) {
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    res.flushHeaders();
    this.closed = new Promise((resolve) => res.once('close', () => resolve()));
    this.keepAlive = setInterval(() => this.res.write(': keep-alive\n\n'), 15_000);
    void this.closed.then(() => this.end());
  }

  get isOpen(): boolean {
    return !this.ended;
  }

  /** An unnamed event: `data:` only, the way OpenAI-style streams frame every chunk. */
  data(payload: unknown): void {
    this.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** Raw SSE text, for framings of its own (OpenAI's closing `data: [DONE]`). */
  write(text: string): void {
    if (!this.ended) this.res.write(text);
  }

  send(event: string, data: unknown, id?: string): void {
    const idLine = id === undefined ? '' : `id: ${id}\n`;
    this.write(`${idLine}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    this.res.end();
  }
}
