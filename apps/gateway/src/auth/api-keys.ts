import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { TENANT_ID_PATTERN } from '@keelson/contracts';
import { z } from 'zod';

const KeysFileSchema = z.object({
  keys: z.array(
    z.object({
      id: z.string().min(1),
      tenant: z.string().regex(TENANT_ID_PATTERN),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected the hex SHA-256 of the key'),
      scopes: z.array(z.string()).default(['*']),
    }),
  ),
});

export interface Principal {
  keyId: string;
  tenant: string;
  scopes: string[];
}

export const hashApiKey = (key: string): string => createHash('sha256').update(key).digest('hex');

/**
 * API keys as the gateway knows them: only their SHA-256 hashes, read from a mounted file. A lookup hashes
 * the presented key and finds it by hash, so no stored secret is ever compared byte by byte.
 */
export class ApiKeys {
  private constructor(private readonly byHash: Map<string, Principal>) {}

  static fromFile(path: string): ApiKeys {
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
    return new ApiKeys(new Map(parsed.data.keys.map((k) => [k.sha256, { keyId: k.id, tenant: k.tenant, scopes: k.scopes }])));
  }

  get size(): number {
    return this.byHash.size;
  }

  /** Every tenant some key belongs to (the dashboard's tenant list for operators). */
  tenants(): string[] {
    return [...new Set([...this.byHash.values()].map((p) => p.tenant))];
  }

  verify(presented: string): Principal | undefined {
    return this.byHash.get(hashApiKey(presented));
  }
}
