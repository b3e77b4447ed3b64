import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { freePort, startApp, startNats, type NatsServerHandle } from '@keelson/testing';

/** memory-, audit- and guard-service own nothing yet: each starts, connects to NATS, and says just that. */
describe('services that only report health so far', () => {
  let nats: NatsServerHandle;
  before(async () => {
    nats = await startNats();
  });
  after(async () => nats?.stop());

  for (const service of ['memory-service', 'audit-service', 'guard-service']) {
    it(`${service}: alive, ready with NATS as its only dependency, and drains NATS on SIGTERM`, async () => {
      const port = await freePort();
      const base = `http://127.0.0.1:${port}`;
      const app = await startApp({
        name: service,
        env: { NATS_URL: nats.url, HEALTH_PORT: String(port), LOG_LEVEL: 'info' },
        readyUrl: `${base}/readyz`,
      });
      try {
        assert.equal((await fetch(`${base}/healthz`)).status, 200);
        const ready = await fetch(`${base}/readyz`);
        assert.deepEqual({ status: ready.status, body: await ready.json() }, { status: 200, body: { status: 'ready', checks: { nats: 'ok' } } });
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
        name: 'memory-service',
        env: { NATS_URL: 'nats://127.0.0.1:1', HEALTH_PORT: String(await freePort()) },
        readyUrl: 'http://127.0.0.1:1/readyz',
        readyTimeoutMs: 30_000,
      }),
      /did not start/,
    );
  });
});
