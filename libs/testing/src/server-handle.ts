import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { ManagedProcess } from './managed-process';
import { forgetTempDir, trackTempDir } from './process-registry';

/** A server the harness started on 127.0.0.1 with its own port and data directory. */
export interface ServerHandle {
  url: string;
  port: number;
  /** The server's data directory; it survives kill() and restart(), stop() removes it. */
  storeDir: string;
  /** The current process id (a restart changes it). */
  readonly pid: number;
  /** The server's output so far, line by line (the current process only). */
  logs(): string[];
  /** SIGTERM, wait for the exit (SIGKILL after 10 s), remove the data directory. Idempotent. */
  stop(): Promise<void>;
  /**
   * Sends `signal` (default SIGKILL) and, for SIGKILL/SIGTERM/SIGINT/SIGQUIT, waits for the exit.
   * SIGSTOP returns once the server is frozen (every thread stopped); SIGCONT resumes it at once. The data stays.
   */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Stops the server if it runs, then starts it again on the same port with the same data directory. */
  restart(): Promise<void>;
}

export interface ServerDefinition {
  name: string;
  binary: string;
  args(port: number, storeDir: string): string[];
  url(port: number): string;
  ready(port: number): Promise<boolean>;
  readyTimeoutMs?: number;
}

export async function startServer(def: ServerDefinition): Promise<ServerHandle> {
  const storeDir = await mkdtemp(join(tmpdir(), `keelson-${def.name}-`));
  trackTempDir(storeDir);
  const readyTimeoutMs = def.readyTimeoutMs ?? 20_000;
  let port = 0;
  let current: ManagedProcess | undefined;
  let stopped = false;

  const launch = async (): Promise<void> => {
    const proc = new ManagedProcess({
      label: `${def.name} on 127.0.0.1:${port}`,
      command: def.binary,
      args: def.args(port, storeDir),
    });
    current = proc;
    await proc.waitUntilReady(() => def.ready(port), readyTimeoutMs);
  };

  // The port is free when we ask but may be taken before the server binds; try a few.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    port = await freePort();
    try {
      await launch();
      lastError = undefined;
      break;
    } catch (err) {
      lastError = err;
      if (!/address already in use/i.test(err instanceof Error ? err.message : String(err))) break;
    }
  }
  if (lastError !== undefined) {
    await rm(storeDir, { recursive: true, force: true });
    forgetTempDir(storeDir);
    throw lastError;
  }

  return {
    url: def.url(port),
    port,
    storeDir,
    get pid() {
      return current?.pid ?? -1;
    },
    logs: () => current?.logs() ?? [],
    async stop() {
      if (stopped) return;
      stopped = true;
      await current?.signal('SIGTERM');
      await rm(storeDir, { recursive: true, force: true });
      forgetTempDir(storeDir);
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      await current?.signal(signal);
    },
    async restart() {
      if (stopped) throw new Error(`${def.name} on port ${port} was stopped; start a new one instead of restarting it`);
      await current?.signal('SIGTERM');
      await launch();
    },
  };
}
