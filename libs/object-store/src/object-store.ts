/** One stored object's facts. */
export interface ObjectInfo {
  bucket: string;
  key: string;
  bytes: number;
  contentType?: string;
  /** User metadata stored with the object (lower-case keys, without the x-amz-meta- prefix). */
  metadata: Record<string, string>;
}

export interface PutOptions {
  contentType?: string;
  metadata?: Record<string, string>;
}

/**
 * S3-compatible object storage. The production adapter is the minio client against any S3 endpoint
 * (MinIO, AWS S3, ...); tests and the local stack run it against s3rver.
 */
export interface ObjectStore {
  /** Creates the bucket in `region` unless it exists; idempotent. */
  ensureBucket(bucket: string, region: string): Promise<void>;
  putObject(bucket: string, key: string, body: Buffer | string, opts?: PutOptions): Promise<void>;
  /** The object's bytes; rejects with ObjectNotFoundError when it does not exist. */
  getObject(bucket: string, key: string): Promise<Buffer>;
  /** The object's facts, or undefined when it does not exist. */
  statObject(bucket: string, key: string): Promise<ObjectInfo | undefined>;
  /** Keys under `prefix`, in lexical order. */
  listKeys(bucket: string, prefix: string): Promise<string[]>;
}
