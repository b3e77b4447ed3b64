import { findBinary } from './binaries';
import { startServer, type ServerHandle } from './server-handle';
import { tcpProbe } from './tcp-probe';

export type NatsServerHandle = ServerHandle;

export interface StartNatsOptions {
  /** Enable JetStream with file storage in the handle's storeDir; default true. */
  jetstream?: boolean;
  /** Extra nats-server arguments, appended last. */
  args?: string[];
  /** Default 20 000 ms. */
  readyTimeoutMs?: number;
  /**
   * A nats-server configuration file, e.g. the users and permissions `generateNatsAuth` (@keelson/messaging)
   * writes; the address, port and JetStream flags still come from here and win over the file.
   */
  configFile?: string;
}

/**
 * Starts a private nats-server on 127.0.0.1 and a free port (never the shared one on 4222), with JetStream
 * storing in a fresh temporary directory. Ready once the server greets a TCP client with INFO: nats-server
 * enables JetStream before it accepts clients.
 */
export function startNats(opts: StartNatsOptions = {}): Promise<NatsServerHandle> {
  const binary = findBinary(
    'nats-server',
    ['/usr/sbin/nats-server', '/usr/local/bin/nats-server'],
    'Install it (Debian: apt-get install nats-server) or put it on PATH.',
  );
  const jetstream = opts.jetstream ?? true;
  return startServer({
    name: 'nats-server',
    binary,
    args: (port, storeDir) => [
      ...(opts.configFile ? ['-c', opts.configFile] : []),
      '-a',
      '127.0.0.1',
      '-p',
      String(port),
      ...(jetstream ? ['-js', '-sd', storeDir] : []),
      ...(opts.args ?? []),
    ],
    url: (port) => `nats://127.0.0.1:${port}`,
    ready: (port) => tcpProbe(port, 'INFO '),
    readyTimeoutMs: opts.readyTimeoutMs,
  });
}
