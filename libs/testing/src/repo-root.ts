import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** The monorepo root: the nearest folder holding nx.json, looking up from `start` (default: this file). */
export function findRepoRoot(start: string = __dirname): string {
  for (const from of [start, process.cwd()]) {
    let dir = from;
    for (;;) {
      if (existsSync(join(dir, 'nx.json'))) return dir;
      const parent = dirname(dir);
      if (parent === dir) break;
      dir = parent;
    }
  }
  throw new Error(`No nx.json found above ${start} or ${process.cwd()}: cannot locate the repository root`);
}
