import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ManagedProcess } from './managed-process';
import { findRepoRoot } from './repo-root';

export interface StartAppOptions {
  /** The app's folder under apps/; it runs apps/<name>/dist/main.js (build it first). */
  name: string;
  /** Merged over process.env. */
  env: Record<string, string>;
  /** Polled until it answers 200. Without it, the app counts as started once spawned. */
  readyUrl?: string;
  /** Default 30 000 ms. */
  readyTimeoutMs?: number;
  /** Another entry script instead of apps/<name>/dist/main.js (relative to the repo root, or absolute). */
  entry?: string;
  /**
   * Node's flags before the entry script; default ['--enable-source-maps'] (TypeScript lines in test stack
   * traces). bench/mesh-memory.mjs passes production's (tools/deploy/node-flags.mjs) instead.
   */
  nodeArgs?: string[];
}

export interface AppHandle {
  pid: number;
  /** Every stdout and stderr line so far (the newest 5 000). */
  logs(): string[];
  /** Resolves with the first line, past or future, that matches; rejects after `timeoutMs` (default 10 000). */
  waitForLog(re: RegExp, timeoutMs?: number): Promise<string>;
  /** SIGTERM, SIGKILL after 10 s, resolves once the process is gone. */
  stop(): Promise<void>;
  /** Sends `signal` (default SIGKILL); for terminating signals resolves once the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** The exit code, or null when a signal ended it. */
  exited: Promise<number | null>;
}

/**
 * Runs one app as its own node process from the repo root, the way production runs it. If the process
 * exits before it is ready, the promise rejects with its last 40 log lines.
 */
export async function startApp(opts: StartAppOptions): Promise<AppHandle> {
  const root = findRepoRoot();
  const entry = opts.entry ? resolve(root, opts.entry) : join(root, 'apps', opts.name, 'dist', 'main.js');
  if (!existsSync(entry)) {
    throw new Error(`startApp(${opts.name}): ${entry} does not exist; build first (npx tsc -b tsconfig.json)`);
  }
  const proc = new ManagedProcess({
    label: `app ${opts.name}`,
    command: process.execPath,
    args: [...(opts.nodeArgs ?? ['--enable-source-maps']), entry],
    cwd: root,
    env: { ...process.env, ...opts.env },
    maxLogLines: 5_000,
  });

  if (opts.readyUrl !== undefined) {
    const url = opts.readyUrl;
    await proc.waitUntilReady(async () => {
      const res = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      await res.body?.cancel();
      if (res.status !== 200) throw new Error(`${url} answered ${res.status}`);
      return true;
    }, opts.readyTimeoutMs ?? 30_000);
  } else {
    await new Promise<void>((resolveSpawn, rejectSpawn) => {
      proc.child.once('spawn', () => resolveSpawn());
      proc.child.once('error', (err) => rejectSpawn(new Error(`startApp(${opts.name}): ${err.message}`)));
    });
  }

  return {
    pid: proc.pid,
    logs: () => proc.logs(),
    waitForLog: (re, timeoutMs = 10_000) =>
      new Promise<string>((resolveLog, rejectLog) => {
        const seen = proc.logs().find((line) => re.test(line));
        if (seen !== undefined) {
          resolveLog(seen);
          return;
        }
        let settled = false;
        const timer = setTimeout(() => {
          settled = true;
          off();
          rejectLog(new Error(`app ${opts.name}: no log line matched ${re} within ${timeoutMs} ms; last lines:\n${proc.tail()}`));
        }, timeoutMs);
        const off = proc.onLine((line) => {
          if (settled || !re.test(line)) return;
          settled = true;
          clearTimeout(timer);
          off();
          resolveLog(line);
        });
        void proc.exited.then(async (status) => {
          await proc.drained; // the last lines may still be on their way
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          off();
          rejectLog(
            new Error(
              `app ${opts.name} exited (code ${status.code}, signal ${status.signal}) before a log line matched ${re}; ` +
                `last lines:\n${proc.tail()}`,
            ),
          );
        });
      }),
    stop: () => proc.signal('SIGTERM'),
    kill: (signal: NodeJS.Signals = 'SIGKILL') => proc.signal(signal),
    exited: proc.exited.then((status) => status.code),
  };
}
