import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findRepoRoot, freePort, startNats, startRedis, type NatsServerHandle, type RedisServerHandle } from '@keelson/testing';

const portIsFree = (port: number) =>
  new Promise<boolean>((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });

/** Five consecutive free ports for the health endpoints the stack numbers from one base. */
async function freePortRun(length: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 20_000 + Math.floor(Math.random() * 40_000);
    const free = await Promise.all(Array.from({ length }, (_, i) => portIsFree(base + i)));
    if (free.every(Boolean)) return base;
  }
  throw new Error(`no run of ${length} free ports found`);
}

/** `npm start`'s own program, in its --check mode, against servers of this test. */
describe('the local stack (npm start)', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
  });
  after(async () => Promise.all([nats?.stop(), redis?.stop()]));

  it('starts all six services, sees them ready, prints the URL and key, and stops them', async () => {
    const root = findRepoRoot();
    const env = {
      ...process.env,
      PORT: String(await freePort()),
      KEELSON_HEALTH_PORT_BASE: String(await freePortRun(5)),
      KEELSON_S3_PORT: String(await freePort()),
      NATS_URL: nats.url,
      REDIS_URL: redis.url,
      KEELSON_DATA_DIR: mkdtempSync(join(tmpdir(), 'keelson-stack-')),
      KEELSON_DEV_API_KEY: 'ks_dev_stack_check',
      NO_COLOR: '1',
    };
    const child = spawn(process.execPath, ['tools/dev-stack/main.mjs', '--check', '--quiet'], { cwd: root, env });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    assert.equal(code, 0, `the stack check failed:\n${output}`);
    assert.match(output, /ready/);
    assert.match(output, new RegExp(`http://127\\.0\\.0\\.1:${env.PORT}`));
    assert.match(output, /ks_dev_stack_check/);
  });
});
