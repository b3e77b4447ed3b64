import { strict as assert } from 'node:assert';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort, startApp, startNats, startRedis, type NatsServerHandle, type RedisServerHandle } from '@keelson/testing';

/**
 * The services without an HTTP API of their own: each starts against its own dependencies only (never the
 * machine's shared NATS or Redis), reports exactly those in /readyz, and drains NATS on SIGTERM.
 */
describe('memory-, audit- and guard-service lifecycle', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
  });
  after(async () => Promise.all([nats?.stop(), redis?.stop()]));

  const services: { name: string; env: () => Record<string, string>; checks: Record<string, string> }[] = [
    { name: 'memory-service', env: () => ({ MEMORY_DATA_DIR: mkdtempSync(join(tmpdir(), 'keelson-memory-')) }), checks: { nats: 'ok' } },
    { name: 'audit-service', env: () => ({}), checks: { nats: 'ok' } },
    { name: 'guard-service', env: () => ({ REDIS_URL: redis.url }), checks: { nats: 'ok', redis: 'ok' } },
  ];
  for (const service of services) {
    it(`${service.name}: alive, ready with ${Object.keys(service.checks).join(' and ')}, and drains NATS on SIGTERM`, async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const app = await startApp({
        name: service.name,
        env: { NATS_URL: nats.url, HEALTH_PORT: String(port), LOG_LEVEL: 'info', ...service.env() },
        readyUrl: `${base}/readyz`,
      });
      try {
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        const ready = await fetch(`${base}/readyz`);
        assert.deepEqual({ status: ready.status, body: await ready.json() }, { status: 200, body: { status: 'ready', checks: service.checks } });
      } finally {
        await app.stop();
      }
      // Nest re-raises the signal after its shutdown hooks, so the exit code says nothing; the log does.
      assert.ok(app.logs().some((line) => line.includes('nats connection closed')), app.logs().slice(-5).join('\n'));
    });
  }

  it('refuses to start without NATS, saying why', async () => {
    await assert.rejects(
      startApp({
        name: 'audit-service',
        env: { NATS_URL: 'nats://127.0.0.1:1', HEALTH_PORT: String(await freePort()) },
        readyUrl: 'http://127.0.0.1:1/readyz',
        readyTimeoutMs: 30_000,
      }),
      /did not start/,
    );
  });
});
