import { join } from 'node:path';
import { findRepoRoot } from './repo-root';
import { startServer, type ServerHandle } from './server-handle';
import { tcpProbe } from './tcp-probe';

export interface S3ServerHandle extends ServerHandle {
  accessKey: string;
  secretKey: string;
  /** Where the objects are kept: `opts.dir`, or storeDir (removed by stop()). */
  dir: string;
}

export interface StartS3ServerOptions {
  /** Keep the objects here instead of a temporary directory; stop() leaves it in place. */
  dir?: string;
  accessKey?: string;
  secretKey?: string;
  readyTimeoutMs?: number;
}

/**
 * Starts tools/s3-server (s3rver) as a child process on 127.0.0.1 and a free port: like nats and redis it
 * can be killed, frozen (SIGSTOP) and restarted on the same port for fault tests; its objects survive a
 * restart. Ready once it answers HTTP. Use path-style addressing (MinioObjectStore does).
 */
export async function startS3Server(opts: StartS3ServerOptions = {}): Promise<S3ServerHandle> {
  const accessKey = opts.accessKey ?? 'keelson-test';
  const secretKey = opts.secretKey ?? 'keelson-test-secret';
  const script = join(findRepoRoot(), 'tools', 's3-server', 'main.mjs');
  let dataDir = opts.dir;
  const handle = await startServer({
    name: 's3-server',
    binary: process.execPath,
    args: (port, storeDir) => {
      dataDir ??= storeDir;
      // s3rver's list continuation tokens use DES, which OpenSSL 3 keeps in its legacy provider.
      return ['--openssl-legacy-provider', script, '--port', String(port), '--dir', dataDir, '--access-key', accessKey, '--secret-key', secretKey];
    },
    url: (port) => `http://127.0.0.1:${port}`,
    ready: (port) => tcpProbe(port, 'HTTP/1.1 ', 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n'),
    readyTimeoutMs: opts.readyTimeoutMs,
  });
  return Object.assign(handle, { accessKey, secretKey, dir: dataDir ?? handle.storeDir });
}
