import { connect, DebugEvents, Events, type NatsConnection } from 'nats';
import { natsErrorCode } from './errors';
import { errorMeta, stderrLogger, type MessagingLogger } from './logger';
import { natsAuthOptions, type NatsCredentials, type NatsIdentityRole } from './nats-credentials';

export interface ConnectNatsOptions {
  url: string;
  /** The connection name the server shows (e.g. `gateway`, `task-worker-consumer`). */
  name: string;
  logger?: MessagingLogger;
  /** Retry the first connection too, instead of failing at once when NATS is not up yet. Default false. */
  waitOnFirstConnect?: boolean;
  /** Client PINGs; a server that misses 2 in a row is treated as gone. Default 15 000 ms. */
  pingIntervalMs?: number;
  /**
   * This identity's credentials and reply-inbox prefix (NATS_NKEY_SEED_FILE or NATS_USER + NATS_PASSWORD_FILE,
   * NATS_INBOX_PREFIX). Absent: no authentication and the default `_INBOX` prefix, as before issue 9.
   */
  credentials?: NatsCredentials;
  /** Which identity of `credentials` to connect as (nats-credentials NatsIdentityRole); default `service`. */
  role?: NatsIdentityRole;
}

/**
 * Connects with reconnect-forever (maxReconnectAttempts -1) and logs each connection state change once:
 * one warning when the connection drops, one info when it is back, not a line per reconnect attempt.
 * Callers drain() the connection on shutdown.
 */
export async function connectNats(opts: ConnectNatsOptions): Promise<NatsConnection> {
  const logger = opts.logger ?? stderrLogger;
  let nc: NatsConnection;
  try {
    const auth = await natsAuthOptions(opts.credentials, opts.role);
    nc = await connect({
      ...auth,
      // A cluster's seed URLs may come comma-separated; the client tries them in turn and learns the rest.
      servers: opts.url.split(',').map((u) => u.trim()).filter(Boolean),
      name: opts.name,
      maxReconnectAttempts: -1,
      reconnectTimeWait: 1_000,
      waitOnFirstConnect: opts.waitOnFirstConnect ?? false,
      pingInterval: opts.pingIntervalMs ?? 15_000,
      maxPingOut: 2,
      // nats.js captures a stack trace per request for async error messages; on every publish that costs ~12% CPU.
      noAsyncTraces: true,
    });
  } catch (err) {
    const wrapped = new Error(`cannot connect to NATS at ${opts.url} as ${opts.name}: ${(err as Error).message}`, { cause: err });
    throw Object.assign(wrapped, { code: natsErrorCode(err) });
  }
  logger.info('nats connected', { name: opts.name, server: nc.getServer(), serverVersion: nc.info?.version });
  void watchStatus(nc, opts.name, logger);
  void nc.closed().then((err) => {
    if (err) logger.error('nats connection closed with an error', { name: opts.name, ...errorMeta(err) });
    else logger.info('nats connection closed', { name: opts.name });
  });
  return nc;
}

async function watchStatus(nc: NatsConnection, name: string, logger: MessagingLogger): Promise<void> {
  let connected = true;
  try {
    for await (const status of nc.status()) {
      switch (status.type) {
        case Events.Disconnect:
          if (connected) logger.warn('nats disconnected; reconnecting', { name, server: status.data });
          connected = false;
          break;
        case Events.Reconnect:
          if (!connected) logger.info('nats reconnected', { name, server: status.data });
          connected = true;
          break;
        case Events.LDM:
          logger.warn('nats server is entering lame duck mode; the client will move to another server', { name, server: status.data });
          break;
        case Events.Error: {
          // A refused publish or subscribe: the server keeps the connection, so this line is the only trace.
          // The e2e mesh fails a run whose services log it (their permissions miss something they do).
          const ctx = (status as { permissionContext?: { operation: string; subject: string; queue?: string } }).permissionContext;
          if (ctx) logger.error(`nats permissions violation: ${ctx.operation} to ${ctx.subject}`, { name, operation: ctx.operation, subject: ctx.subject, ...(ctx.queue ? { queue: ctx.queue } : {}) });
          else logger.error('nats async error', { name, error: String(status.data) });
          break;
        }
        case DebugEvents.StaleConnection:
          logger.warn('nats connection is stale (server missed pings)', { name });
          break;
        default:
          // reconnecting attempts, pings and cluster updates: not worth a line each
          break;
      }
    }
  } catch (err) {
    logger.debug('nats status watcher ended', { name, ...errorMeta(err) });
  }
}
