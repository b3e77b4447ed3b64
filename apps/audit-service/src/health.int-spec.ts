import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { freePort, startApp, startNats, type AppHandle, type NatsServerHandle } from '@keelson/testing';

/** The service owns nothing yet: it starts, connects to NATS, and says so on its health endpoints. */
describe('audit-service health', () => {
  let nats: NatsServerHandle;
  let app: AppHandle;
  let base: string;

  before(async () => {
    nats = await startNats();
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    app = await startApp({
      name: 'audit-service',
      env: { NATS_URL: nats.url, HEALTH_PORT: String(port), LOG_LEVEL: 'info' },
      readyUrl: `${base}/readyz`,
    });
  });

  after(async () => {
    await app?.stop();
    await nats?.stop();
  });

  it('is alive, and ready with NATS as its only dependency (no Redis)', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await fetch(`${base}/readyz`);
    assert.deepEqual({ status: ready.status, body: await ready.json() }, { status: 200, body: { status: 'ready', checks: { nats: 'ok' } } });
  });

  it('drains its NATS connection when stopped with SIGTERM', async () => {
    await app.stop();
    // Nest re-raises the signal after its shutdown hooks, so the exit code says nothing; the log does.
    assert.ok(app.logs().some((line) => line.includes('nats connection closed')), app.logs().slice(-5).join('\n'));
  });
});
