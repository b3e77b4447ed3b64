import type { ServerResponse } from 'node:http';

/**
 * Server-Sent Events the way OpenAI streams them: `data:` lines only (no event names, no ids), ending with
 * `data: [DONE]`. Comments every 15 s keep proxies from closing an idle stream.
 */
export class OpenAISse {
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

  data(payload: unknown): void {
    if (!this.ended) this.res.write(`data: ${JSON.stringify(payload)}\n\n`);
  }

  /** The stream's normal end. */
  done(): void {
    if (!this.ended) this.res.write('data: [DONE]\n\n');
    this.end();
  }

  end(): void {
    if (this.ended) return;
    this.ended = true;
    clearInterval(this.keepAlive);
    this.res.end();
  }
}
