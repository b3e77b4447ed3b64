import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Subjects, parseInvokeCancelSubject } from '@keelson/contracts';
import { NATS_RESPONDER_CONNECTION } from '@keelson/nest-kit';
import type { NatsConnection, Subscription } from 'nats';

/** How long a cancel that came before its run is remembered, so the run starts cancelled. */
export const EARLY_CANCEL_MEMORY_MS = 60_000;

/**
 * The invokes running in this process that their callers may cancel (InvokeRpcRequest `cancelId`), and the
 * listener for those cancels (core NATS, every replica: only the one running the invoke can abort it).
 */
@Injectable()
export class InvokeCancellations implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly running = new Map<string, AbortController>();
  private readonly early = new Map<string, number>();
  private subscription?: Subscription;

  // The invokes' own connection: a cancel published after its invoke cannot arrive before it.
  constructor(@Inject(NATS_RESPONDER_CONNECTION) private readonly nats: NatsConnection) {}

  onApplicationBootstrap(): void {
    this.subscription = this.nats.subscribe(Subjects.allInvokeCancels, {
      callback: (err, msg) => {
        const where = err ? undefined : parseInvokeCancelSubject(msg.subject);
        if (where) this.cancel(where.tenant, where.cancelId);
      },
    });
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }

  /** The signal of one invoke; call `release` when it is over. */
  register(tenant: string, cancelId: string): { signal: AbortSignal; release(): void } {
    const key = `${tenant}/${cancelId}`;
    const abort = new AbortController();
    if (this.early.delete(key)) abort.abort(new Error('the caller cancelled the invoke'));
    this.running.set(key, abort);
    return { signal: abort.signal, release: () => this.running.get(key) === abort && this.running.delete(key) };
  }

  /** Aborts the invoke if it runs here; otherwise remembers the cancel for a while, in case it runs next. */
  cancel(tenant: string, cancelId: string): boolean {
    const key = `${tenant}/${cancelId}`;
    const run = this.running.get(key);
    if (run) {
      run.abort(new Error('the caller cancelled the invoke'));
      return true;
    }
    const now = Date.now();
    for (const [old, at] of this.early) if (now - at > EARLY_CANCEL_MEMORY_MS) this.early.delete(old);
    this.early.set(key, now);
    return false;
  }
}
