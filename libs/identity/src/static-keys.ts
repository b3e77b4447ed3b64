import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TENANT_ID_PATTERN } from '@keelson/contracts';
import { z } from 'zod';
import { secretMatches } from './key-secret';
import type { Principal } from './principal';

const EntrySchema = z
  .object({
    id: z.string().min(1).max(128),
    tenant: z.string().regex(TENANT_ID_PATTERN),
    /** Salted: hex sha256(salt + key). */
    salt: z.string().regex(/^[0-9a-f]{16,128}$/, 'expected hex').optional(),
    hash: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex SHA-256 of salt + key').optional(),
    /** Unsalted: hex sha256(key). Accepted for files written before salts; a warning names each at start. */
    sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex SHA-256 of the key').optional(),
    scopes: z.array(z.string()).default(['*']),
  })
  .refine((e) => (e.salt !== undefined && e.hash !== undefined) !== (e.sha256 !== undefined), {
    message: 'give either salt and hash, or sha256 (unsalted, deprecated)',
  });
const KeysFileSchema = z.object({ keys: z.array(EntrySchema) });
type Entry = z.infer<typeof EntrySchema>;

export const sha256Hex = (text: string): string => createHash('sha256').update(text).digest('hex');

/**
 * Keys from the mounted file KEELSON_API_KEYS_FILE (read at start): the bootstrap keys an operator places
 * before any key exists in Redis, and keys managed outside Keelson. Only hashes are in the file.
 */
export class StaticKeys {
  private constructor(
    private readonly unsalted: Map<string, Entry>,
    private readonly salted: Entry[],
  ) {}

  static fromFile(path: string, warn: (message: string) => void = () => undefined): StaticKeys {
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(path, 'utf8'));
    } catch (err) {
      throw new Error(`cannot read the API keys file ${path}: ${(err as Error).message}`);
    }
    const parsed = KeysFileSchema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new Error(`the API keys file ${path} is invalid at ${issue.path.join('.')}: ${issue.message}`);
    }
    const entries = parsed.data.keys;
    const ids = new Set<string>();
    for (const e of entries) {
      if (ids.has(e.id)) throw new Error(`the API keys file ${path} names the key id "${e.id}" twice`);
      ids.add(e.id);
      if (e.sha256) warn(`API key "${e.id}" in ${path} has an unsalted sha256; re-hash it with a salt (docs/security.md)`);
    }
    return new StaticKeys(new Map(entries.filter((e) => e.sha256).map((e) => [e.sha256!, e])), entries.filter((e) => e.hash));
  }

  get size(): number {
    return this.unsalted.size + this.salted.length;
  }

  tenants(): string[] {
    return [...new Set([...this.unsalted.values(), ...this.salted].map((e) => e.tenant))];
  }

  entries(): Array<{ id: string; tenant: string; scopes: string[] }> {
    return [...this.unsalted.values(), ...this.salted].map(({ id, tenant, scopes }) => ({ id, tenant, scopes }));
  }

  verify(presented: string): Principal | undefined {
    const entry = this.unsalted.get(sha256Hex(presented)) ?? this.salted.find((e) => secretMatches(presented, { salt: e.salt!, hash: e.hash! }));
    return entry ? { kind: 'api_key', keyId: entry.id, tenant: entry.tenant, scopes: entry.scopes } : undefined;
  }
}
