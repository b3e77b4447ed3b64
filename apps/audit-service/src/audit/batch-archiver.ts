import type { AuditStore } from '@keelson/audit';
import type { MessagingLogger } from '@keelson/messaging';
import type { ObjectStorage } from '@keelson/object-store';

export interface BatchArchiverOptions {
  /** Records per batch. */
  batchSize: number;
  /** A partial batch is archived once its oldest record was stored this long ago. */
  maxAgeMs: number;
  /** Most batches one tenant gets per round, so one tenant's backlog cannot starve the others. */
  maxBatchesPerRound?: number;
}

const MANIFEST = /\/(\d{12})-(\d{12})\.manifest\.json$/;

/**
 * Archives each tenant's chain in consecutive batches to its regional `audit` bucket: the records as JSON
 * lines plus a manifest with the batch's first prevHash, last hash and digest, so an archive can be checked
 * against the live chain, and a run of archives against each other. Where the last round stopped is read back
 * from the bucket (the highest manifest), so a restart, or a second replica, continues rather than repeats;
 * two replicas writing the same batch write the same bytes (Archiver refuses different ones).
 *
 * The tenants looked at are the ones whose events this replica stored since it started: a tenant idle since
 * a restart is caught up with its next event.
 */
export class AuditBatchArchiver {
  private readonly tenants = new Set<string>();
  private running: Promise<void> | undefined;

  constructor(
    private readonly store: Pick<AuditStore, 'readRange'>,
    private readonly storage: Pick<ObjectStorage, 'store' | 'residency' | 'account' | 'archiver'>,
    private readonly options: BatchArchiverOptions,
    private readonly logger: MessagingLogger,
  ) {}

  noteTenant(tenant: string): void {
    this.tenants.add(tenant);
  }

  /** One round over every tenant seen; a round still running is joined, not doubled. */
  runOnce(now = Date.now()): Promise<void> {
    this.running ??= this.round(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(now: number): Promise<void> {
    for (const tenant of this.tenants) {
      try {
        const written = await this.archiveTenant(tenant, now);
        if (written > 0) this.logger.info('audit batches archived', { tenant, batches: written });
      } catch (err) {
        this.logger.warn('archiving audit batches failed; the next round retries', { tenant, error: (err as Error).message });
      }
    }
  }

  private async archiveTenant(tenant: string, now: number): Promise<number> {
    let last = await this.lastArchivedSeq(tenant);
    let written = 0;
    while (written < (this.options.maxBatchesPerRound ?? 10)) {
      const records = await this.store.readRange(tenant, { fromSeq: last + 1 }, this.options.batchSize);
      if (records.length === 0) break;
      const full = records.length === this.options.batchSize;
      if (!full && now - Date.parse(records[0]!.storedAt) < this.options.maxAgeMs) break;
      // Purged records leave a hole at the front: a batch starts at the first record still stored.
      await this.storage.archiver.archiveAuditBatch(tenant, records);
      last = records[records.length - 1]!.seq;
      written++;
      if (!full) break;
    }
    return written;
  }

  private async lastArchivedSeq(tenant: string): Promise<number> {
    const { bucket, region } = this.storage.residency.bucketFor(tenant, 'audit', this.storage.account);
    await this.storage.store.ensureBucket(bucket, region);
    let last = 0;
    for (const key of await this.storage.store.listKeys(bucket, `${tenant}/`)) {
      const m = MANIFEST.exec(key);
      if (m) last = Math.max(last, Number(m[2]));
    }
    return last;
  }
}
