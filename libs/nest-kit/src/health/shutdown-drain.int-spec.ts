import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';
import { Readiness } from './readiness';
import { ShutdownDrain } from './shutdown-drain';

describe('ShutdownDrain', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('turns readiness to 503 "draining" at shutdown while the dependencies are still fine, then waits the drain time', async () => {
    const readiness = new Readiness(nc, null);
    assert.deepEqual(await readiness.report(), { ready: true, checks: { nats: 'ok' } });
    let finished = false;
    const drain = new ShutdownDrain(readiness, 200).beforeApplicationShutdown().then(() => (finished = true));
    assert.deepEqual(await readiness.report(), { ready: false, checks: { shutdown: 'draining' } });
    assert.equal(finished, false, 'the service keeps working during the drain time');
    await drain;
    assert.equal(nc.isClosed(), false, 'the drain itself closes nothing');
  });
});
