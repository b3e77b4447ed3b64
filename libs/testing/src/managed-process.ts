import { readFileSync, readdirSync } from 'node:fs';
import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { createInterface } from 'node:readline';
import { trackChild } from './process-registry';

export type ExitStatus = { code: number | null; signal: NodeJS.Signals | null };

/** Signals after which we wait for the process to be gone; others (SIGSTOP, SIGHUP, SIGUSR2...) return at once. */
const TERMINATING: ReadonlySet<string> = new Set(['SIGKILL', 'SIGTERM', 'SIGINT', 'SIGQUIT']);

export interface ManagedProcessOptions {
  /** Names the process in errors: "nats-server on port 4300". */
  label: string;
  command: string;
  args: string[];
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Lines kept for logs() and for error messages. */
  maxLogLines?: number;
}

/**
 * One spawned process with its output captured line by line, tracked for cleanup at exit, and unref'd so
 * a test that forgets to stop it does not keep node alive (the exit hook kills it then).
 */
export class ManagedProcess {
  readonly child: ChildProcess;
  readonly exited: Promise<ExitStatus>;
  /** Resolves once the process has exited and its output is read to the end (at most 1 s after the exit). */
  readonly drained: Promise<void>;
  private readonly lines: string[] = [];
  private readonly lineListeners = new Set<(line: string) => void>();
  private status: ExitStatus | undefined;

  constructor(private readonly opts: ManagedProcessOptions) {
    const child = spawn(opts.command, opts.args, {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    trackChild(child);
    this.exited = new Promise<ExitStatus>((resolve) => {
      child.once('error', (err) => {
        this.record(`[harness] failed to spawn ${opts.command}: ${err.message}`);
        this.status ??= { code: null, signal: null };
        resolve(this.status);
      });
      child.once('exit', (code, signal) => {
        this.status = { code, signal };
        resolve(this.status);
      });
    });
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    this.drained = this.exited.then(() => Promise.race([closed, new Promise<void>((r) => setTimeout(r, 1_000))]));
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue;
      createInterface({ input: stream }).on('line', (line) => this.record(line));
      (stream as Readable & { unref?: () => void }).unref?.();
    }
    child.unref();
  }

  get label(): string {
    return this.opts.label;
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  get running(): boolean {
    return this.status === undefined;
  }

  logs(): string[] {
    return [...this.lines];
  }

  tail(n = 40): string {
    return this.lines.slice(-n).join('\n');
  }

  onLine(listener: (line: string) => void): () => void {
    this.lineListeners.add(listener);
    return () => this.lineListeners.delete(listener);
  }

  /** Sends `signal`; for terminating signals waits until the process is gone (SIGKILL after `graceMs`). */
  async signal(signal: NodeJS.Signals, graceMs = 10_000): Promise<void> {
    if (!this.running) return;
    try {
      this.child.kill(signal);
    } catch {
      // gone already
    }
    if (signal === 'SIGSTOP') return this.untilStopped();
    if (!TERMINATING.has(signal)) return;
    if (signal !== 'SIGKILL') {
      // A stopped (SIGSTOP) process only acts on SIGTERM once it runs again.
      try {
        this.child.kill('SIGCONT');
      } catch {
        // gone already
      }
    }
    const timer = setTimeout(() => {
      try {
        this.child.kill('SIGKILL');
      } catch {
        // gone already
      }
    }, graceMs);
    try {
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * SIGSTOP takes effect asynchronously: on a busy machine a thread may still answer one more request after
   * kill() returns. On Linux, wait until every thread reports the stopped state, so a test that freezes a
   * server really talks to a frozen one.
   */
  private async untilStopped(): Promise<void> {
    const dir = `/proc/${this.child.pid}/task`;
    const stopped = () => {
      try {
        return readdirSync(dir).every((tid) => /\) [Tt] /.test(readFileSync(`${dir}/${tid}/stat`, 'utf8')));
      } catch {
        return true; // no /proc (not Linux), or the process is gone
      }
    };
    for (let i = 0; i < 500 && !stopped(); i++) await new Promise((resolve) => setTimeout(resolve, 10));
  }

  /**
   * Polls `probe` until it is true; rejects with the last log lines if the process exits first or the
   * time runs out.
   */
  async waitUntilReady(probe: () => Promise<boolean>, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let lastError = '';
    while (this.running) {
      try {
        if (await probe()) return;
      } catch (err) {
        lastError = err instanceof Error ? err.message : String(err);
      }
      if (Date.now() > deadline) {
        await this.signal('SIGKILL');
        throw new Error(
          `${this.label} was not ready after ${timeoutMs} ms${lastError ? ` (last probe error: ${lastError})` : ''}; ` +
            `last log lines:\n${this.tail()}`,
        );
      }
      await Promise.race([new Promise((resolve) => setTimeout(resolve, 50)), this.exited]);
    }
    const status = await this.exited;
    await this.drained;
    throw new Error(
      `${this.label} exited (code ${status.code}, signal ${status.signal}) before it was ready; last log lines:\n${this.tail()}`,
    );
  }

  private record(line: string): void {
    this.lines.push(line);
    const max = this.opts.maxLogLines ?? 2_000;
    if (this.lines.length > max) this.lines.splice(0, this.lines.length - max);
    for (const listener of this.lineListeners) listener(line);
  }
}
