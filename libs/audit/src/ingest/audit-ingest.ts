import type { AuditEvent } from '@keelson/contracts';
import type { AppendResult, AuditStore } from '../store/audit-store';

export interface AuditIngestOptions {
  /** Most events per store.append call. Default 256. */
  maxBatch?: number;
  /**
   * Applied to each event before it is chained: where guard-service's output filter scrubs PII. It must be
   * deterministic, so a redelivered event is stored (or found a duplicate) exactly as the first delivery.
   * Default: the event unchanged.
   */
  redact?: (event: AuditEvent) => AuditEvent | Promise<AuditEvent>;
}

interface Pending {
  event: Promise<AuditEvent>;
  resolve(result: AppendResult): void;
  reject(err: unknown): void;
}

/**
 * A micro-batcher in front of an AuditStore: the events submitted within one tick (or up to maxBatch of
 * them) go to the store in one append call, in submission order, so a consumer can write one record per
 * message and still get batched transactions. When an append fails, every submit of that batch rejects
 * (the consumer naks; a redelivered event already stored comes back as a duplicate).
 */
export class AuditIngest {
  private readonly maxBatch: number;
  private readonly redact: (event: AuditEvent) => AuditEvent | Promise<AuditEvent>;
  private queue: Pending[] = [];
  private scheduled = false;
  private closed = false;
  /** Batches are written one after another, so records are chained in submission order across batches too. */
  private tail: Promise<void> = Promise.resolve();

  constructor(
    private readonly store: AuditStore,
    options: AuditIngestOptions = {},
  ) {
    this.maxBatch = Math.max(1, options.maxBatch ?? 256);
    this.redact = options.redact ?? ((event) => event);
  }

  submit(event: AuditEvent): Promise<AppendResult> {
    if (this.closed) return Promise.reject(new Error('AuditIngest is closed'));
    return new Promise<AppendResult>((resolve, reject) => {
      // Redaction starts now (it may be async); the batch waits for it, keeping submission order.
      const redacted = Promise.resolve().then(() => this.redact(event));
      redacted.catch(() => undefined);
      this.queue.push({ event: redacted, resolve, reject });
      if (this.queue.length >= this.maxBatch) this.cut();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.cut();
        });
      }
    });
  }

  /** Writes what is queued and waits for every batch in flight. */
  async flush(): Promise<void> {
    this.cut();
    await this.tail;
  }

  /** Stops taking events and flushes; the store stays open (its owner closes it). */
  async close(): Promise<void> {
    this.closed = true;
    await this.flush();
  }

  private cut(): void {
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, this.maxBatch);
      this.tail = this.tail.then(() => this.write(batch));
    }
  }

  private async write(batch: Pending[]): Promise<void> {
    // An event whose redaction failed is rejected alone; the rest of its batch is still written.
    const settled = await Promise.allSettled(batch.map((p) => p.event));
    const ready: { pending: Pending; event: AuditEvent }[] = [];
    settled.forEach((s, i) => (s.status === 'fulfilled' ? ready.push({ pending: batch[i]!, event: s.value }) : batch[i]!.reject(s.reason)));
    if (ready.length === 0) return;
    try {
      const results = await this.store.append(ready.map((r) => r.event));
      ready.forEach((r, i) => r.pending.resolve(results[i]!));
    } catch (err) {
      for (const r of ready) r.pending.reject(err);
    }
  }
}
