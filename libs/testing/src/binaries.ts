import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The path of an executable: the first match on PATH, else the first fallback that exists.
 * Throws with the places it looked and how to install it.
 */
export function findBinary(name: string, fallbacks: string[], installHint: string): string {
  const dirs = (process.env['PATH'] ?? '').split(delimiter).filter(Boolean);
  const candidates = [...dirs.map((d) => join(d, name)), ...fallbacks];
  for (const candidate of candidates) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // keep looking
    }
  }
  throw new Error(
    `${name} not found on PATH (${dirs.join(delimiter) || 'empty'}) nor at ${fallbacks.join(', ')}. ${installHint}`,
  );
}
