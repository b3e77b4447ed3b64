import type { AuditRecord, AuditRef } from '@keelson/contracts';
import type { BucketPurpose } from './bucket-names';
import type { ObjectStore } from './object-store';
import type { ResidencyPolicy } from './residency';
import { TenantBuckets } from './tenant-buckets';
import { readVerified, sha256Hex } from './verified-read';

const JSONL = 'application/x-ndjson';
const JSON_TYPE = 'application/json';
/** Relative key below the tenant's prefix: plain segments, no `.`/`..`, no empty segment. */
const KEY_PATTERN = /^(?!.*(^|\/)\.{1,2}(\/|$))[A-Za-z0-9._=-]+(\/[A-Za-z0-9._=-]+)*$/;

export interface ArchiverOptions {
  store: ObjectStore;
  residency: ResidencyPolicy;
  account: string;
  /** Stamps manifests; tests pin it. */
  clock?: () => Date;
}

/** What an audit batch's manifest holds: enough to check the batch and link it to its neighbours in the chain. */
export interface AuditBatchManifest {
  tenant: string;
  firstSeq: number;
  lastSeq: number;
  count: number;
  /** prevHash of the first record: the previous batch's lastHash. */
  firstPrevHash: string;
  lastHash: string;
  /** sha256 of the batch's JSON lines file. */
  sha256: string;
  createdAt: string;
}

export interface ArchivedAuditBatch {
  batch: AuditRef;
  manifest: AuditRef;
}

/** Writes closed sessions, finished tasks and audit batches to the tenant's regional buckets as JSON lines. */
export class Archiver {
  private readonly buckets: TenantBuckets;

  constructor(private readonly options: ArchiverOptions) {
    this.buckets = new TenantBuckets(options.store, options.residency, options.account);
  }

  /** Writes `rows`, one JSON object per line, to `{tenant}/{key}` in the tenant's `purpose` bucket. */
  archiveJsonl(tenant: string, purpose: BucketPurpose, key: string, rows: unknown[], kind = 'archive'): Promise<AuditRef> {
    if (!KEY_PATTERN.test(key) || key.length > 900) {
      throw new Error(`invalid archive key "${key}": expected /-separated segments of letters, digits, . _ = -`);
    }
    return this.write(tenant, purpose, `${tenant}/${key}`, toJsonl(rows), JSONL, kind);
  }

  /** The rows of a JSON lines archive, after checking its sha256. */
  async readJsonl(ref: AuditRef): Promise<unknown[]> {
    const text = (await readVerified(this.options.store, ref)).toString('utf8');
    return text
      .split('\n')
      .filter((line) => line !== '')
      .map((line, i) => {
        try {
          return JSON.parse(line) as unknown;
        } catch {
          throw new Error(`archive ${ref.bucket}/${ref.key}: line ${i + 1} is not JSON`);
        }
      });
  }

  /**
   * Writes consecutive records of one tenant to `{tenant}/{firstSeq:012d}-{lastSeq:012d}.jsonl` in its `audit`
   * bucket, then the manifest next to it (written last, so a manifest means a complete batch). Idempotent: when
   * the manifest already exists for the same bytes it is kept (with its createdAt); for different bytes it throws.
   */
  async archiveAuditBatch(tenant: string, records: AuditRecord[]): Promise<ArchivedAuditBatch> {
    checkBatch(tenant, records);
    const first = records[0]!;
    const last = records[records.length - 1]!;
    const base = `${tenant}/${pad(first.seq)}-${pad(last.seq)}`;
    const jsonl = toJsonl(records);
    const sha256 = sha256Hex(jsonl);
    const { bucket } = await this.buckets.bucketFor(tenant, 'audit');
    const manifestKey = `${base}.manifest.json`;

    const existing = await this.existingManifest(bucket, manifestKey);
    if (existing && existing.manifest.sha256 !== sha256) {
      throw new Error(
        `audit batch ${bucket}/${base}.jsonl is already archived with sha256 ${existing.manifest.sha256}, ` +
          `but these records hash to ${sha256}: the stored range and this batch differ`,
      );
    }
    const batch = await this.write(tenant, 'audit', `${base}.jsonl`, jsonl, JSONL, 'audit_batch');
    if (existing) return { batch, manifest: existing.ref };

    const manifest: AuditBatchManifest = {
      tenant,
      firstSeq: first.seq,
      lastSeq: last.seq,
      count: records.length,
      firstPrevHash: first.prevHash,
      lastHash: last.hash,
      sha256,
      createdAt: (this.options.clock?.() ?? new Date()).toISOString(),
    };
    const ref = await this.write(tenant, 'audit', manifestKey, `${JSON.stringify(manifest, null, 2)}\n`, JSON_TYPE, 'audit_manifest');
    return { batch, manifest: ref };
  }

  /** A batch manifest, after checking its own sha256. */
  async readAuditManifest(ref: AuditRef): Promise<AuditBatchManifest> {
    return JSON.parse((await readVerified(this.options.store, ref)).toString('utf8')) as AuditBatchManifest;
  }

  private async write(tenant: string, purpose: BucketPurpose, key: string, text: string, contentType: string, kind: string): Promise<AuditRef> {
    const { bucket } = await this.buckets.bucketFor(tenant, purpose);
    const body = Buffer.from(text, 'utf8');
    await this.options.store.putObject(bucket, key, body, { contentType, metadata: { tenant, kind } });
    return { kind, bucket, key, sha256: sha256Hex(body), bytes: body.length, contentType };
  }

  private async existingManifest(bucket: string, key: string): Promise<{ manifest: AuditBatchManifest; ref: AuditRef } | undefined> {
    const info = await this.options.store.statObject(bucket, key);
    if (!info) return undefined;
    const body = await this.options.store.getObject(bucket, key);
    const ref: AuditRef = { kind: 'audit_manifest', bucket, key, sha256: sha256Hex(body), bytes: body.length, contentType: JSON_TYPE };
    let manifest: AuditBatchManifest;
    try {
      manifest = JSON.parse(body.toString('utf8')) as AuditBatchManifest;
    } catch {
      throw new Error(`audit manifest ${bucket}/${key} exists but is not JSON: inspect it before archiving this range again`);
    }
    return { manifest, ref };
  }
}

function toJsonl(rows: unknown[]): string {
  if (!Array.isArray(rows)) throw new Error('archive rows must be an array');
  return rows
    .map((row, i) => {
      const line = JSON.stringify(row);
      if (line === undefined) throw new Error(`archive row ${i} cannot be written as JSON (${typeof row})`);
      return `${line}\n`;
    })
    .join('');
}

function checkBatch(tenant: string, records: AuditRecord[]): void {
  if (!Array.isArray(records) || records.length === 0) throw new Error('an audit batch needs at least one record');
  records.forEach((record, i) => {
    if (record.tenant !== tenant) {
      throw new Error(`audit batch of tenant ${tenant}: record ${i} (seq ${record.seq}) belongs to tenant ${record.tenant}`);
    }
    if (!Number.isSafeInteger(record.seq) || record.seq < 1) throw new Error(`audit batch: record ${i} has invalid seq ${record.seq}`);
    const previous = records[i - 1];
    if (previous && record.seq !== previous.seq + 1) {
      throw new Error(`audit batch seqs must be consecutive: seq ${record.seq} follows seq ${previous.seq}`);
    }
  });
}

const pad = (seq: number) => String(seq).padStart(12, '0');
