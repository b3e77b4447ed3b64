import { ObjectNotFoundError } from './errors';
import type { ObjectInfo, ObjectStore, PutOptions } from './object-store';

/** ObjectStore in memory, for unit tests of code that stores objects; `failNext` simulates an outage. */
export class InMemoryObjectStore implements ObjectStore {
  readonly buckets = new Map<string, { region: string; objects: Map<string, { body: Buffer; info: ObjectInfo }> }>();
  /** ensureBucket calls that reached the store, in order. */
  readonly ensureCalls: string[] = [];
  private failures: Error[] = [];

  /** The next store call rejects with `err`. */
  failNext(err: Error = new Error('object store unavailable')): void {
    this.failures.push(err);
  }

  async ensureBucket(bucket: string, region: string): Promise<void> {
    this.fail();
    this.ensureCalls.push(bucket);
    if (!this.buckets.has(bucket)) this.buckets.set(bucket, { region, objects: new Map() });
  }

  async putObject(bucket: string, key: string, body: Buffer | string, opts: PutOptions = {}): Promise<void> {
    this.fail();
    const objects = this.bucket(bucket, key);
    const bytes = Buffer.from(body);
    const info: ObjectInfo = { bucket, key, bytes: bytes.length, metadata: { ...opts.metadata } };
    if (opts.contentType) info.contentType = opts.contentType;
    objects.set(key, { body: bytes, info });
  }

  async getObject(bucket: string, key: string): Promise<Buffer> {
    this.fail();
    const found = this.bucket(bucket, key).get(key);
    if (!found) throw new ObjectNotFoundError(bucket, key);
    return Buffer.from(found.body);
  }

  async statObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    this.fail();
    const found = this.buckets.get(bucket)?.objects.get(key);
    return found ? { ...found.info, metadata: { ...found.info.metadata } } : undefined;
  }

  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    this.fail();
    return [...(this.buckets.get(bucket)?.objects.keys() ?? [])].filter((k) => k.startsWith(prefix)).sort();
  }

  private bucket(bucket: string, key: string) {
    const found = this.buckets.get(bucket);
    if (!found) throw new ObjectNotFoundError(bucket, key);
    return found.objects;
  }

  private fail(): void {
    const err = this.failures.shift();
    if (err) throw err;
  }
}
