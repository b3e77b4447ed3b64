import type { ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';

/**
 * Every process and temporary directory the harness creates is tracked here, so a test run that ends
 * (normally, by an uncaught error, or by SIGINT/SIGTERM/SIGHUP) leaves no server running and no store behind.
 * A SIGKILL of the test process itself cannot be caught; nothing can clean up after that.
 */
const children = new Set<ChildProcess>();
const tempDirs = new Set<string>();
let installed = false;

export function trackChild(child: ChildProcess): void {
  install();
  children.add(child);
  child.once('exit', () => children.delete(child));
}

export function trackTempDir(dir: string): void {
  install();
  tempDirs.add(dir);
}

export function forgetTempDir(dir: string): void {
  tempDirs.delete(dir);
}

function killAll(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        child.kill('SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const dir of tempDirs) {
    try {
      // A just-killed server may still be writing; retries cover ENOTEMPTY.
      rmSync(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 20 });
    } catch {
      // best effort: the OS cleans its temp folder eventually
    }
  }
  tempDirs.clear();
}

function install(): void {
  if (installed) return;
  installed = true;
  process.on('exit', killAll);
  const signals: Record<'SIGINT' | 'SIGTERM' | 'SIGHUP', number> = { SIGHUP: 1, SIGINT: 2, SIGTERM: 15 };
  for (const [signal, number] of Object.entries(signals)) {
    process.once(signal, () => {
      killAll();
      process.exit(128 + number);
    });
  }
}
