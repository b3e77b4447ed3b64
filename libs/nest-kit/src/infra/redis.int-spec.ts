import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '@keelson/messaging';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { connectRedis } from './redis';

describe('connectRedis with a password from the secrets layer', () => {
  let redis: RedisServerHandle;
  let password = 'first-redis-password';
  before(async () => {
    redis = await startRedis(); // its readiness probe is an unauthenticated PING: the password is set after
    const admin = await connectRedis(redis.url, 'admin', silentLogger);
    await admin.configSet('requirepass', password);
    await admin.close();
  });
  after(async () => redis?.stop());

  it('authenticates with the current password on every connect, so a rotated one is used by the next connection', async () => {
    const ask = (): string => password;
    const first = await connectRedis(redis.url, 'test', silentLogger, { password: ask });
    try {
      assert.equal(await first.ping(), 'PONG');
      await first.configSet('requirepass', 'second-redis-password'); // the server's password rotates
      password = 'second-redis-password'; // ...and so does the mounted secret
    } finally {
      await first.close();
    }
    const second = await connectRedis(redis.url, 'test', silentLogger, { password: ask });
    try {
      assert.equal(await second.ping(), 'PONG');
    } finally {
      await second.close();
    }
  });

  it('refuses a URL that carries a password as well', async () => {
    await assert.rejects(connectRedis(redis.url.replace('redis://', 'redis://:pw@'), 'test', silentLogger, { password: () => 'x' }), /REDIS_URL carries a password/);
  });
});
