import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { startNats, waitFor, type NatsServerHandle } from '@keelson/testing';
import type { NatsConnection } from 'nats';
import { connectNats } from './connection';
import type { MessagingLogger } from './logger';

describe('connectNats', () => {
  let nats: NatsServerHandle | undefined;
  let nc: NatsConnection | undefined;
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  it('reconnects after the server goes away, logging the disconnect and the reconnect once each', async () => {
    nats = await startNats({ jetstream: false });
    const lines: { level: string; msg: string }[] = [];
    const logger: MessagingLogger = {
      debug: () => undefined,
      info: (msg) => lines.push({ level: 'info', msg }),
      warn: (msg) => lines.push({ level: 'warn', msg }),
      error: (msg) => lines.push({ level: 'error', msg }),
    };
    nc = await connectNats({ url: nats.url, name: 'connection-spec', logger });
    assert.ok(lines.some((l) => l.msg === 'nats connected'));

    await nats.kill(); // several reconnect attempts fail while it is down
    await waitFor(() => lines.some((l) => l.msg === 'nats disconnected; reconnecting'), { description: 'the disconnect to be logged' });
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    await nats.restart();
    await waitFor(() => lines.some((l) => l.msg === 'nats reconnected'), { description: 'the reconnect', timeoutMs: 15_000 });

    const sub = nc.subscribe('ping');
    await nc.flush();
    nc.publish('ping', new Uint8Array([1]));
    const got = await waitFor(async () => {
      for await (const m of sub) return m;
      return undefined;
    }, { description: 'a message over the reconnected connection' });
    assert.equal(got.data[0], 1);
    assert.equal(lines.filter((l) => l.msg === 'nats disconnected; reconnecting').length, 1);
    assert.equal(lines.filter((l) => l.msg === 'nats reconnected').length, 1);
    assert.equal(nc.isClosed(), false);
  });

  it('fails fast with the URL in the error when nothing listens', async () => {
    await assert.rejects(connectNats({ url: 'nats://127.0.0.1:1', name: 'nobody' }), /cannot connect to NATS at nats:\/\/127\.0\.0\.1:1 as nobody: .*(CONNECTION_REFUSED|ECONNREFUSED)/);
  });
});
