import type { AuditRef } from '@keelson/contracts';
import type { ObjectStore } from './object-store';
import type { ResidencyPolicy } from './residency';
import { TenantBuckets } from './tenant-buckets';
import { readVerified, sha256Hex } from './verified-read';

const KIND_PATTERN = /^[a-z][a-z_]{0,62}$/;
const PAYLOAD_CONTENT_TYPE = 'text/plain; charset=utf-8';

export interface PayloadOffloaderOptions {
  store: ObjectStore;
  residency: ResidencyPolicy;
  account: string;
  /** Payloads of more UTF-8 bytes than this are offloaded; at most this many stay inline. */
  thresholdBytes: number;
}

export type MaybeOffloaded = { inline: string } | { ref: AuditRef };

/** Moves large payloads (tool results, transcripts, model inputs) out of audit events into the tenant's `payloads` bucket. */
export class PayloadOffloader {
  readonly thresholdBytes: number;
  private readonly buckets: TenantBuckets;

  constructor(private readonly options: PayloadOffloaderOptions) {
    if (!Number.isSafeInteger(options.thresholdBytes) || options.thresholdBytes < 0) {
      throw new Error(`PayloadOffloader: thresholdBytes must be a whole number >= 0, got ${options.thresholdBytes}`);
    }
    this.thresholdBytes = options.thresholdBytes;
    this.buckets = new TenantBuckets(options.store, options.residency, options.account);
  }

  /**
   * Stores `content` under `{tenant}/{kind}/{yyyy}/{mm}/{dd}/{sha256}` (UTC date of `time`). The key is the
   * content's hash, so a retry (same content, same `time`) overwrites the same object with the same bytes.
   */
  async offload(tenant: string, kind: string, content: string, time: Date = new Date()): Promise<AuditRef> {
    if (!KIND_PATTERN.test(kind)) throw new Error(`invalid payload kind "${kind}": expected lowercase letters and _`);
    if (Number.isNaN(time.getTime())) throw new Error('invalid payload time');
    const { bucket } = await this.buckets.bucketFor(tenant, 'payloads');
    const body = Buffer.from(content, 'utf8');
    const sha256 = sha256Hex(body);
    const day = time.toISOString().slice(0, 10).replace(/-/g, '/');
    const key = `${tenant}/${kind}/${day}/${sha256}`;
    await this.options.store.putObject(bucket, key, body, { contentType: PAYLOAD_CONTENT_TYPE, metadata: { tenant, kind } });
    return { kind, bucket, key, sha256, bytes: body.length, contentType: PAYLOAD_CONTENT_TYPE };
  }

  /** Inline when `content` is at most thresholdBytes of UTF-8, else offloaded and referenced. */
  async maybeOffload(tenant: string, kind: string, content: string): Promise<MaybeOffloaded> {
    if (Buffer.byteLength(content, 'utf8') <= this.thresholdBytes) return { inline: content };
    return { ref: await this.offload(tenant, kind, content) };
  }

  /** The payload's text; ObjectIntegrityError when the stored bytes changed, ObjectNotFoundError when gone. */
  async readPayload(ref: AuditRef): Promise<string> {
    return (await readVerified(this.options.store, ref)).toString('utf8');
  }
}
