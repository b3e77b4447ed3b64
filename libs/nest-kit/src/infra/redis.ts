import { createClient, type RedisClientType } from 'redis';
import type { MessagingLogger } from '@keelson/messaging';

export type RedisClient = RedisClientType<Record<string, never>, Record<string, never>, Record<string, never>, 3>;

/**
 * Connects with reconnects that back off to 2 s and never give up: a Redis restart must not take the
 * service down, readiness reports the outage meanwhile.
 */
export async function connectRedis(url: string, name: string, logger: MessagingLogger): Promise<RedisClient> {
  const client = createClient({
    url,
    name,
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
