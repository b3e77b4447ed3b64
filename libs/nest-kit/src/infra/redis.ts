import { createClient, type RedisClientType } from 'redis';
import type { MessagingLogger } from '@keelson/messaging';

export type RedisClient = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 3>;

export interface RedisConnectOptions {
  /**
   * The password from the secrets layer (REDIS_PASSWORD_FILE or _REF, docs/secrets.md): the current value,
   * asked for on every (re)connect, so a rotated password is used by the next connection. The URL then
   * carries no password (production refuses one that does); a user name in the URL is kept.
   */
  password?: () => string;
}

/**
 * Connects with reconnects that back off to 2 s and never give up: a Redis restart must not take the
 * service down, readiness reports the outage meanwhile.
 */
export async function connectRedis(url: string, name: string, logger: MessagingLogger, options: RedisConnectOptions = {}): Promise<RedisClient> {
  const password = options.password;
  if (password && new URL(url).password) throw new Error('REDIS_URL carries a password and one is given from the secrets layer: keep only the latter');
  const username = decodeURIComponent(new URL(url).username) || undefined;
  const client = createClient({
    url,
    name,
    ...(password
      ? { credentialsProvider: { type: 'async-credentials-provider' as const, credentials: async () => ({ ...(username ? { username } : {}), password: password() }) } }
      : {}),
    socket: { reconnectStrategy: (retries) => Math.min(50 * 2 ** retries, 2_000), connectTimeout: 5_000 },
  });
  let down = false;
  client.on('error', (err: Error) => {
    if (down) return;
    down = true;
    logger.warn('redis connection error', { error: err.message });
  });
  client.on('ready', () => {
    if (down) logger.info('redis connection restored');
    down = false;
  });
  await client.connect();
  return client as unknown as RedisClient;
}
