import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { startRedis, type RedisServerHandle } from './redis-server';
import { tcpProbe } from './tcp-probe';

/** Sends one inline command and returns the first reply line. */
function redisCommand(port: number, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    let data = '';
    socket.once('error', reject);
    socket.once('connect', () => socket.write(`${command}\r\n`));
    socket.on('data', (chunk) => {
      data += chunk.toString();
      const end = data.indexOf('\r\n');
      if (end >= 0) {
        socket.destroy();
        resolve(data.slice(0, end));
      }
    });
  });
}

describe('startRedis', () => {
  const handles: RedisServerHandle[] = [];
  after(async () => {
    await Promise.all(handles.map((h) => h.stop()));
  });

  it('starts redis on a private port, answers commands, and stop() removes it and its dir', async () => {
    const redis = await startRedis();
    assert.notEqual(redis.port, 6379, 'must never use the shared port');
    assert.equal(redis.url, `redis://127.0.0.1:${redis.port}`);
    assert.equal(await redisCommand(redis.port, 'SET k v'), '+OK');
    assert.equal(await redisCommand(redis.port, 'GET k'), '$1');
    await redis.stop();
    assert.equal(existsSync(redis.storeDir), false);
    assert.equal(await tcpProbe(redis.port, '+PONG', 'PING\r\n'), false);
  });

  it('restart() comes back on the same port, empty (no persistence)', async () => {
    const redis = await startRedis();
    handles.push(redis);
    assert.equal(await redisCommand(redis.port, 'SET k v'), '+OK');
    const port = redis.port;
    await redis.restart();
    assert.equal(redis.port, port);
    assert.equal(await redisCommand(redis.port, 'GET k'), '$-1');
  });

  it('kill(SIGSTOP) freezes the server and kill(SIGCONT) resumes it', async () => {
    const redis = await startRedis();
    handles.push(redis);
    await redis.kill('SIGSTOP');
    assert.equal(await tcpProbe(redis.port, '+PONG', 'PING\r\n', 300), false, 'a frozen server does not answer');
    await redis.kill('SIGCONT');
    assert.equal(await tcpProbe(redis.port, '+PONG', 'PING\r\n'), true);
  });
});
