import type { ApiKeyView, CreateApiKeyRequest } from '@keelson/contracts';
import { formatKey, hashSecret, newKeyId, newSecret, type KeyHash } from './key-secret';

/** The Redis calls the store needs; node-redis satisfies it. */
export interface RedisKeyPort {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<unknown>;
  sAdd(key: string, member: string): Promise<unknown>;
  sMembers(key: string): Promise<string[]>;
}

/** A key as stored: its hash and salt, never the key. */
export interface StoredKey extends KeyHash {
  id: string;
  tenant: string;
  name: string;
  scopes: string[];
  createdAt: string;
  createdBy: string;
  expiresAt?: string;
  revokedAt?: string;
  revokedBy?: string;
  rotatedTo?: string;
}

/** How long a rotated key keeps working by default, so clients can switch without an outage. */
export const DEFAULT_ROTATION_GRACE_SECONDS = 3_600;

export function keyStatus(key: Pick<StoredKey, 'expiresAt' | 'revokedAt'>, now = Date.now()): ApiKeyView['status'] {
  if (key.revokedAt) return 'revoked';
  if (key.expiresAt && Date.parse(key.expiresAt) <= now) return 'expired';
  return 'active';
}

export function viewOf(key: StoredKey, now = Date.now()): ApiKeyView {
  return {
    id: key.id,
    tenant: key.tenant,
    name: key.name,
    scopes: key.scopes,
    source: 'api',
    createdAt: key.createdAt,
    createdBy: key.createdBy,
    ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}),
    ...(key.revokedAt ? { revokedAt: key.revokedAt } : {}),
    ...(key.rotatedTo ? { rotatedTo: key.rotatedTo } : {}),
    status: keyStatus(key, now),
  };
}

/**
 * API keys made through the admin API, in Redis so every gateway replica sees a new, rotated or revoked key
 * (within the authenticator's cache time). One string per key (`{prefix}:{keyId}`, JSON) and one set of ids
 * per tenant. Revoked keys stay, marked, so the access review can still name them.
 */
export class ApiKeyStore {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisKeyPort,
    options: { keyPrefix?: string } = {},
  ) {
    this.prefix = options.keyPrefix ?? 'keelson:apikeys';
  }

  async create(tenant: string, request: CreateApiKeyRequest, createdBy: string, now = new Date()): Promise<{ key: StoredKey; token: string }> {
    const id = newKeyId();
    const secret = newSecret();
    const key: StoredKey = {
      id,
      tenant,
      name: request.name,
      scopes: [...new Set(request.scopes)],
      createdAt: now.toISOString(),
      createdBy,
      ...(request.expiresAt ? { expiresAt: new Date(request.expiresAt).toISOString() } : {}),
      ...hashSecret(secret),
    };
    await this.save(key);
    await this.redis.sAdd(this.tenantSet(tenant), id);
    return { key, token: formatKey(id, secret) };
  }

  async get(keyId: string): Promise<StoredKey | undefined> {
    const raw = await this.redis.get(`${this.prefix}:${keyId}`);
    return raw ? (JSON.parse(raw) as StoredKey) : undefined;
  }

  /** The tenant's key, or undefined when there is none (or it belongs to another tenant). */
  async ofTenant(tenant: string, keyId: string): Promise<StoredKey | undefined> {
    const key = await this.get(keyId);
    return key?.tenant === tenant ? key : undefined;
  }

  async list(tenant: string): Promise<StoredKey[]> {
    const ids = await this.redis.sMembers(this.tenantSet(tenant));
    const keys = await Promise.all(ids.map((id) => this.get(id)));
    return keys.filter((k): k is StoredKey => k?.tenant === tenant).sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.id.localeCompare(b.id));
  }

  async revoke(key: StoredKey, revokedBy: string, now = new Date()): Promise<StoredKey> {
    if (key.revokedAt) return key;
    const revoked = { ...key, revokedAt: now.toISOString(), revokedBy };
    await this.save(revoked);
    return revoked;
  }

  /**
   * A new key with the same name and scopes; the old one keeps working for `graceSeconds` (its own earlier
   * expiry wins) and names its successor.
   */
  async rotate(old: StoredKey, graceSeconds: number, by: string, now = new Date()): Promise<{ key: StoredKey; token: string; old: StoredKey }> {
    const created = await this.create(
      old.tenant,
      { name: old.name, scopes: old.scopes, ...(old.expiresAt && Date.parse(old.expiresAt) > now.getTime() ? { expiresAt: old.expiresAt } : {}) },
      by,
      now,
    );
    const graceEnd = new Date(now.getTime() + graceSeconds * 1000).toISOString();
    const ends = old.expiresAt && old.expiresAt < graceEnd ? old.expiresAt : graceEnd;
    const updated: StoredKey = { ...old, expiresAt: ends, rotatedTo: created.key.id };
    await this.save(updated);
    return { ...created, old: updated };
  }

  private save(key: StoredKey): Promise<unknown> {
    return this.redis.set(`${this.prefix}:${key.id}`, JSON.stringify(key));
  }

  private tenantSet(tenant: string): string {
    return `${this.prefix}:tenant:${tenant}`;
  }
}
