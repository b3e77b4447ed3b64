import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import type { EntityType } from '@keelson/contracts';

/**
 * Reversible pseudonyms: a value is replaced by a token such as `[EMAIL_ADDRESS:3f9a0c1b7e]`, the same
 * token for the same value within a tenant (so a conversation stays coherent), and the value is kept,
 * encrypted with AES-256-GCM under a key derived per tenant (HKDF-SHA256 of the master key and the tenant),
 * in a PseudonymVault. `reveal` turns a token back into its value: it is a separate call, which the caller
 * must authorise and audit (guard-service has no reveal RPC; see docs/guard.md).
 */
export interface PseudonymVault {
  /** Stores the sealed value of `token` (idempotent: the same token always seals the same value). */
  put(tenant: string, token: string, sealed: string): Promise<void>;
  get(tenant: string, token: string): Promise<string | undefined>;
}

/** In memory: tests and single-process use. */
export class InMemoryPseudonymVault implements PseudonymVault {
  private readonly entries = new Map<string, string>();
  async put(tenant: string, token: string, sealed: string): Promise<void> {
    this.entries.set(`${tenant}\n${token}`, sealed);
  }
  async get(tenant: string, token: string): Promise<string | undefined> {
    return this.entries.get(`${tenant}\n${token}`);
  }
  get size(): number {
    return this.entries.size;
  }
}

/** The part of a node-redis client the Redis vault uses. */
export interface RedisHashClient {
  hSet(key: string, field: string, value: string): Promise<unknown>;
  hGet(key: string, field: string): Promise<string | null | undefined | unknown>;
  expire?(key: string, seconds: number): Promise<unknown>;
}

/** One Redis hash per tenant: `keelson:guard:pseudonyms:{tenant}`, field = token, value = sealed value. */
export class RedisPseudonymVault implements PseudonymVault {
  constructor(
    private readonly redis: RedisHashClient,
    private readonly opts: { ttlSeconds?: number; prefix?: string } = {},
  ) {}
  private key(tenant: string): string {
    return `${this.opts.prefix ?? 'keelson:guard:pseudonyms'}:${tenant}`;
  }
  async put(tenant: string, token: string, sealed: string): Promise<void> {
    await this.redis.hSet(this.key(tenant), token, sealed);
    if (this.opts.ttlSeconds && this.redis.expire) await this.redis.expire(this.key(tenant), this.opts.ttlSeconds);
  }
  async get(tenant: string, token: string): Promise<string | undefined> {
    const v = await this.redis.hGet(this.key(tenant), token);
    return typeof v === 'string' ? v : undefined;
  }
}

export interface PendingPseudonym {
  token: string;
  sealed: string;
}

export const PSEUDONYM_TOKEN = /\[([A-Z_]+):([0-9a-f]{10})\]/g;

export class Pseudonymizer {
  private readonly master: Buffer;
  private readonly keys = new Map<string, { mac: Buffer; enc: Buffer }>();

  /** `masterKey`: 32 bytes (from a mounted secret file); never logged. */
  constructor(
    masterKey: Buffer,
    readonly vault: PseudonymVault,
  ) {
    if (masterKey.length < 32) throw new Error('the pseudonym master key must be at least 32 bytes');
    this.master = masterKey;
  }

  private keysFor(tenant: string): { mac: Buffer; enc: Buffer } {
    let k = this.keys.get(tenant);
    if (!k) {
      const okm = Buffer.from(hkdfSync('sha256', this.master, Buffer.from('keelson-guard-pseudonyms'), Buffer.from(tenant), 64));
      k = { mac: okm.subarray(0, 32), enc: okm.subarray(32) };
      this.keys.set(tenant, k);
    }
    return k;
  }

  /** The token for a value (deterministic per tenant) and its sealed value, to be stored before the token leaves. */
  tokenize(tenant: string, type: EntityType, value: string): PendingPseudonym {
    const k = this.keysFor(tenant);
    const id = createHmac('sha256', k.mac).update(type).update('\0').update(value).digest('hex').slice(0, 10);
    const token = `[${type}:${id}]`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', k.enc, iv);
    cipher.setAAD(Buffer.from(`${tenant}\n${token}`));
    const body = Buffer.concat([cipher.update(value, 'utf8'), cipher.final()]);
    const sealed = `v1.${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${body.toString('base64url')}`;
    return { token, sealed };
  }

  async store(tenant: string, pending: readonly PendingPseudonym[]): Promise<void> {
    const unique = new Map(pending.map((p) => [p.token, p.sealed]));
    await Promise.all([...unique].map(([token, sealed]) => this.vault.put(tenant, token, sealed)));
  }

  /** The original value of a token, or undefined if unknown. Authorise and audit every call. */
  async reveal(tenant: string, token: string): Promise<string | undefined> {
    const sealed = await this.vault.get(tenant, token);
    if (!sealed) return undefined;
    const [version, iv, tag, body] = sealed.split('.');
    if (version !== 'v1' || !iv || !tag || body === undefined) throw new Error('unreadable pseudonym record');
    const decipher = createDecipheriv('aes-256-gcm', this.keysFor(tenant).enc, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`${tenant}\n${token}`));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(body, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** Replaces every known token in `text` by its value (for an authorised, audited caller). */
  async revealText(tenant: string, text: string): Promise<string> {
    return (await this.revealDetailed(tenant, text)).text;
  }

  /** revealText, with how many distinct tokens were revealed and how many this tenant's vault does not hold. */
  async revealDetailed(tenant: string, text: string): Promise<{ text: string; revealed: number; unknown: number }> {
    const tokens = [...new Set([...text.matchAll(PSEUDONYM_TOKEN)].map((m) => m[0]))];
    const values = new Map<string, string>();
    for (const t of tokens) {
      const v = await this.reveal(tenant, t);
      if (v !== undefined) values.set(t, v);
    }
    return { text: text.replace(PSEUDONYM_TOKEN, (t) => values.get(t) ?? t), revealed: values.size, unknown: tokens.length - values.size };
  }
}
