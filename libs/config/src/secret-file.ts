import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';

/**
 * A secret read from a file the platform mounts (a Kubernetes or Docker secret), never from an environment
 * variable. Re-read when the file changes, so a rotated key is picked up without a restart; the value is
 * never put into an error message.
 */
export function secretFromFile(path: string): () => Promise<string> {
  let cached: { mtimeMs: number; value: string } | undefined;
  return async () => {
    let mtimeMs: number;
    try {
      mtimeMs = (await stat(path)).mtimeMs;
    } catch (err) {
      throw new Error(`cannot read the secret file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
    if (cached?.mtimeMs !== mtimeMs) {
      const value = (await readFile(path, 'utf8')).trim();
      if (!value) throw new Error(`the secret file ${path} is empty`);
      cached = { mtimeMs, value };
    }
    return cached.value;
  };
}

/**
 * The secrets layer (@keelson/secrets, docs/secrets.md): a secret setting `<NAME>` is given as `<NAME>_FILE`
 * (a mounted file) or `<NAME>_REF` (`file:/abs/path` or `vault:<mount>/data/<path>#<field>`), never as
 * `<NAME>` itself. `vault:` references need VAULT_ADDR and one of VAULT_TOKEN_FILE / VAULT_KUBERNETES_ROLE.
 */
export const secretsLayerSettings = {
  VAULT_ADDR: z.string().url('expected the Vault address, such as https://vault:8200').optional(),
  /** A file holding the Vault token (a Vault Agent sink); the VAULT_TOKEN variable itself is never used. */
  VAULT_TOKEN_FILE: z.string().min(1).optional(),
  /** Kubernetes auth: the Vault role this pod's service account logs in as (instead of VAULT_TOKEN_FILE). */
  VAULT_KUBERNETES_ROLE: z.string().min(1).optional(),
  VAULT_NAMESPACE: z.string().min(1).optional(),
};

/** `<NAME>_REF`: where a secret lives (`file:` or `vault:` reference; parsed when the secrets start). */
export const secretRefSetting = () => z.string().min(1).optional();
