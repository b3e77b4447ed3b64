// The local stack's API key. The plaintext key lives only in the environment or in .keelson/dev-api-key
// (0600, so it survives restarts and the user's curl commands keep working); the gateway only ever sees
// its sha256, in the file named by KEELSON_API_KEYS_FILE, the same shape production key stores use.
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const DEV_TENANT = 'dev';
export const DEV_KEY_ID = 'dev-local';

/** `ks_dev_` + 32 base64url characters (24 random bytes). */
export const generateApiKey = () => `ks_dev_${randomBytes(24).toString('base64url')}`;

export const sha256Hex = (text) => createHash('sha256').update(text, 'utf8').digest('hex');

/** Writes via a temp file and rename so a reader never sees a half-written file, and the mode is 0600 from the start. */
function writePrivate(path, text) {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600); // the umask may have narrowed it further, never widen
  renameSync(tmp, path);
}

/**
 * Picks the key (KEELSON_DEV_API_KEY, else the stored one, else a new one) and writes the hash file.
 * @returns {{ key: string, source: 'env'|'stored'|'generated', keyFile: string, keysFile: string }}
 */
export function ensureApiKey(dataDir, env = process.env) {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const keyFile = join(dataDir, 'dev-api-key');
  const keysFile = join(dataDir, 'api-keys.json');
  let key = env.KEELSON_DEV_API_KEY?.trim();
  let source = 'env';
  if (!key) {
    key = existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : '';
    source = 'stored';
    if (!key) {
      key = generateApiKey();
      source = 'generated';
      writePrivate(keyFile, `${key}\n`);
    }
  }
  const doc = { keys: [{ id: DEV_KEY_ID, tenant: DEV_TENANT, sha256: sha256Hex(key), scopes: ['*'] }] };
  writePrivate(keysFile, `${JSON.stringify(doc, null, 2)}\n`);
  return { key, source, keyFile, keysFile };
}
