import { strict as assert } from 'node:assert';
import { existsSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { connect, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import { startNats, type NatsServerHandle } from './nats-server';
import { tcpProbe } from './tcp-probe';
import { waitFor } from './wait-for';

describe('startNats', () => {
  const handles: NatsServerHandle[] = [];
  const connections: NatsConnection[] = [];
  after(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await Promise.all(handles.map((h) => h.stop()));
  });

  it('starts a JetStream-enabled server on a private port, and stop() removes it and its store', async () => {
    const nats = await startNats();
    assert.notEqual(nats.port, 4222, 'must never use the shared port');
    assert.equal(nats.url, `nats://127.0.0.1:${nats.port}`);
    const nc = await connect({ servers: nats.url });
    const jsm = await nc.jetstreamManager();
    const account = await jsm.getAccountInfo();
    assert.equal(account.streams, 0);
    await nc.close();
    assert.ok(existsSync(nats.storeDir));

    await nats.stop();
    assert.equal(existsSync(nats.storeDir), false, 'store directory should be removed');
    assert.equal(await tcpProbe(nats.port, 'INFO '), false, 'server should no longer accept connections');
    await nats.stop(); // idempotent
  });

  it('two servers run side by side on different ports', async () => {
    const [a, b] = await Promise.all([startNats(), startNats({ jetstream: false })]);
    handles.push(a, b);
    assert.notEqual(a.port, b.port);
    assert.notEqual(a.storeDir, b.storeDir);
  });

  it('restart() comes back on the same port with the same JetStream store', async () => {
    const nats = await startNats();
    handles.push(nats);
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    // A short API timeout: a request sent while the client reconnects is lost and would wait the full default.
    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    await jsm.streams.add({ name: 'KEEP', subjects: ['keep.>'], storage: StorageType.File, retention: RetentionPolicy.Limits });
    await nc.jetstream().publish('keep.one', new TextEncoder().encode('1'));
    const { port, pid } = nats;

    await nats.restart();
    assert.equal(nats.port, port);
    assert.notEqual(nats.pid, pid, 'a new process');
    const info = await waitFor(() => jsm.streams.info('KEEP'), { description: 'the stream after restart', timeoutMs: 15_000 });
    assert.equal(info.state.messages, 1);
  });

  it('kill() takes the server down hard; restart() brings it back with its data', async () => {
    const nats = await startNats();
    handles.push(nats);
    const nc = await connect({ servers: nats.url, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    // A short API timeout: a request sent while the client reconnects is lost and would wait the full default.
    const jsm = await nc.jetstreamManager({ timeout: 1_000 });
    await jsm.streams.add({ name: 'HARD', subjects: ['hard.>'], storage: StorageType.File });
    await nats.kill();
    assert.equal(await tcpProbe(nats.port, 'INFO '), false);
    await nats.restart();
    const info = await waitFor(() => jsm.streams.info('HARD'), { description: 'the stream after kill -9', timeoutMs: 15_000 });
    assert.equal(info.config.name, 'HARD');
  });

  it('rejects with the server log when nats-server cannot start', async () => {
    await assert.rejects(startNats({ args: ['-c', '/nonexistent/keelson.conf'] }), (err: Error) => {
      assert.match(err.message, /nats-server on 127\.0\.0\.1:\d+ exited \(code 1/);
      assert.match(err.message, /keelson\.conf: no such file or directory/);
      return true;
    });
  });
});
