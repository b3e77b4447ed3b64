import type * as Minio from 'minio';
import type { Client } from 'minio';
import type * as MinioCredentialProvider from 'minio/dist/main/CredentialProvider.js';
import type * as MinioCredentials from 'minio/dist/main/Credentials.js';
import { ObjectNotFoundError } from './errors';
import type { ObjectInfo, ObjectStore, PutOptions } from './object-store';

export interface S3Credentials {
  accessKey: string;
  secretKey: string;
}

export interface MinioObjectStoreOptions {
  /** `http://host:port` or `https://host[:port]`; no path, no credentials in it. */
  url: string;
  accessKey?: string;
  secretKey?: string;
  /** Asked before every request instead of fixed keys, so rotated secret files are picked up without a restart. */
  credentials?: () => Promise<S3Credentials>;
  /**
   * Pins the client to one region (every request is signed for it; buckets elsewhere are refused). Unset, the
   * client looks each bucket's region up once, so one store serves tenants in several regions.
   */
  region?: string;
}

/*
 * minio is required when the first request is made, not at import: every service builds its object store at
 * start (audit payload offload), but most never offload a payload, and minio with lodash, async, xml2js and
 * mime-db is about 6 MB of heap per process (docs/benchmarks.md "Memory at rest").
 */
const requireMinio = (): typeof Minio => require('minio') as typeof Minio;

/** Per-request credentials for the minio client: it calls getCredentials() before each request. */
function callbackCredentialProvider(fetch: () => Promise<S3Credentials>): MinioCredentialProvider.CredentialProvider {
  const { CredentialProvider } = require('minio/dist/main/CredentialProvider.js') as typeof MinioCredentialProvider;
  const { Credentials } = require('minio/dist/main/Credentials.js') as typeof MinioCredentials;
  class CallbackCredentialProvider extends CredentialProvider {
    constructor() {
      super({ accessKey: '', secretKey: '' });
    }

    override async getCredentials(): Promise<MinioCredentials.Credentials> {
      const { accessKey, secretKey } = await fetch();
      return new Credentials({ accessKey, secretKey });
    }
  }
  return new CallbackCredentialProvider();
}

/** Header names minio reports alongside user metadata; they are not the caller's metadata. */
const SYSTEM_HEADER = /^(content-|cache-control$|expires$|x-amz-|last-modified$|etag$)/;
const METADATA_KEY = /^[a-z0-9][a-z0-9-]{0,63}$/;

/** ObjectStore over the minio client, for any S3-compatible endpoint (AWS S3, MinIO, s3rver), path-style. */
export class MinioObjectStore implements ObjectStore {
  private minioClient: Client | undefined;
  private readonly clientOptions: () => Minio.ClientOptions;
  private readonly region: string | undefined;
  /** Buckets known to exist; a failed check is forgotten so the next call tries again. */
  private readonly buckets = new Map<string, Promise<void>>();

  constructor(options: MinioObjectStoreOptions) {
    const url = parseEndpoint(options.url);
    const hasKeys = options.accessKey !== undefined || options.secretKey !== undefined;
    if (hasKeys === (options.credentials !== undefined)) {
      throw new Error('MinioObjectStore: give either accessKey and secretKey, or credentials, not both or neither');
    }
    if (hasKeys && (!options.accessKey || !options.secretKey)) {
      throw new Error('MinioObjectStore: accessKey and secretKey must both be non-empty');
    }
    this.region = options.region;
    const credentials = options.credentials;
    this.clientOptions = () => ({
      endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
      port: url.port ? Number(url.port) : undefined,
      useSSL: url.protocol === 'https:',
      // Path-style (`host/bucket/key`) works with s3rver and MinIO, which have no per-bucket DNS names.
      pathStyle: true,
      ...(options.region ? { region: options.region } : {}),
      ...(credentials ? { credentialsProvider: callbackCredentialProvider(credentials) } : { accessKey: options.accessKey, secretKey: options.secretKey }),
    });
  }

  /** The minio client, created (and minio loaded) on first use. */
  get client(): Client {
    this.minioClient ??= new (requireMinio().Client)(this.clientOptions());
    return this.minioClient;
  }

  ensureBucket(bucket: string, region: string): Promise<void> {
    if (this.region && region !== this.region) {
      return Promise.reject(
        new Error(`bucket ${bucket} belongs in ${region}, but this object store is pinned to region ${this.region}`),
      );
    }
    let pending = this.buckets.get(bucket);
    if (!pending) {
      pending = this.createIfMissing(bucket, region);
      this.buckets.set(bucket, pending);
      pending.catch(() => this.buckets.delete(bucket));
    }
    return pending;
  }

  async putObject(bucket: string, key: string, body: Buffer | string, opts: PutOptions = {}): Promise<void> {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const meta: Record<string, string> = {};
    for (const [name, value] of Object.entries(opts.metadata ?? {})) {
      // Metadata travels as HTTP headers: keep names plain and values printable ASCII.
      if (!METADATA_KEY.test(name) || SYSTEM_HEADER.test(name)) throw new Error(`invalid object metadata name "${name}"`);
      if (!/^[\x20-\x7e]*$/.test(value)) throw new Error(`object metadata "${name}" must be printable ASCII`);
      meta[`x-amz-meta-${name}`] = value;
    }
    if (opts.contentType) meta['Content-Type'] = opts.contentType;
    await this.client.putObject(bucket, key, data, data.length, meta);
  }

  async getObject(bucket: string, key: string): Promise<Buffer> {
    try {
      const stream = await this.client.getObject(bucket, key);
      const chunks: Buffer[] = [];
      for await (const chunk of stream) chunks.push(chunk as Buffer);
      return Buffer.concat(chunks);
    } catch (err) {
      if (isNotFound(err)) throw new ObjectNotFoundError(bucket, key, { cause: err });
      throw err;
    }
  }

  async statObject(bucket: string, key: string): Promise<ObjectInfo | undefined> {
    try {
      const stat = await this.client.statObject(bucket, key);
      const metadata: Record<string, string> = {};
      let contentType: string | undefined;
      for (const [name, value] of Object.entries(stat.metaData ?? {})) {
        const lower = name.toLowerCase();
        if (lower === 'content-type') contentType = String(value);
        else if (!SYSTEM_HEADER.test(lower)) metadata[lower] = String(value);
      }
      return { bucket, key, bytes: stat.size, ...(contentType ? { contentType } : {}), metadata };
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** A bucket that does not exist holds no keys. */
  async listKeys(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    try {
      for await (const item of this.client.listObjectsV2(bucket, prefix, true)) {
        const name = (item as { name?: string }).name;
        if (name !== undefined) keys.push(name);
      }
    } catch (err) {
      if (isNotFound(err)) return [];
      throw err;
    }
    return keys.sort();
  }

  private async createIfMissing(bucket: string, region: string): Promise<void> {
    if (await this.client.bucketExists(bucket)) return;
    try {
      await this.client.makeBucket(bucket, region);
    } catch (err) {
      // Another replica created it between our check and our request.
      if (errorCode(err) === 'BucketAlreadyOwnedByYou') return;
      // S3 answers this when another account owns the name; s3rver also for its own buckets, so look again.
      if (errorCode(err) === 'BucketAlreadyExists') {
        if (await this.client.bucketExists(bucket).catch(() => false)) return;
        throw new Error(`bucket ${bucket} already exists and belongs to another account: choose another OBJECT_STORE_ACCOUNT`, {
          cause: err,
        });
      }
      throw err;
    }
  }
}

function parseEndpoint(raw: string): URL {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new Error(`object store URL "${raw}" is not a URL; expected http://host:port or https://host`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new Error(`object store URL "${raw}" must use http or https, not ${url.protocol.slice(0, -1)}`);
  }
  if (url.username || url.password) throw new Error('object store URL must not carry credentials; use the key files');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error(`object store URL "${raw}" must have no path or query: buckets are addressed by the store`);
  }
  return url;
}

function errorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

function isNotFound(err: unknown): boolean {
  const code = errorCode(err);
  return code === 'NoSuchKey' || code === 'NotFound' || code === 'NoSuchBucket';
}
