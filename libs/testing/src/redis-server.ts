import { findBinary } from './binaries';
import { startServer, type ServerHandle } from './server-handle';
import { tcpProbe } from './tcp-probe';

export type RedisServerHandle = ServerHandle;

export interface StartRedisOptions {
  /** Extra redis-server arguments, appended last (e.g. ['--maxmemory', '10mb']). */
  args?: string[];
  readyTimeoutMs?: number;
}

/**
 * Starts a private redis-server on 127.0.0.1 and a free port (never the shared one on 6379), without
 * persistence: a restart() comes back empty. Ready once it answers PING.
 */
export function startRedis(opts: StartRedisOptions = {}): Promise<RedisServerHandle> {
  const binary = findBinary(
    'redis-server',
    ['/usr/bin/redis-server', '/usr/local/bin/redis-server'],
    'Install it (Debian: apt-get install redis-server) or put it on PATH.',
  );
  return startServer({
    name: 'redis-server',
    binary,
    args: (port, storeDir) => [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      storeDir,
      ...(opts.args ?? []),
    ],
    url: (port) => `redis://127.0.0.1:${port}`,
    ready: (port) => tcpProbe(port, '+PONG', 'PING\r\n'),
    readyTimeoutMs: opts.readyTimeoutMs,
  });
}
