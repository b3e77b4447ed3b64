import { readFile, stat } from 'node:fs/promises';

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
