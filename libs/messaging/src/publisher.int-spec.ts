import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Headers, Streams, Subjects } from '@keelson/contracts';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import { decodeJson } from './codec';
import { connectNats } from './connection';
import { PublishError } from './errors';
import { silentLogger } from './logger';
import { provisionStreams } from './provisioning';
import { JetStreamPublisher } from './publisher';

describe('JetStreamPublisher', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: JetStreamPublisher;

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'publisher-spec', logger: silentLogger });
    jsm = await nc.jetstreamManager();
    publisher = new JetStreamPublisher(nc, { logger: silentLogger });
    await provisionStreams(nc, [Streams.tasks, Streams.results]);
  });

  after(async () => {
    await nc.close();
    await nats.stop();
  });

  it('stores a JSON payload with its headers and returns the PubAck', async () => {
    const subject = Subjects.task('acme', 'summarise');
    const ack = await publisher.publish(subject, { input: 'hi' }, { msgId: 'acme:k1', headers: { [Headers.tenant]: 'acme' } });
    assert.equal(ack.stream, Streams.tasks.name);
    assert.equal(ack.duplicate, false);
    const stored = await jsm.streams.getMessage(Streams.tasks.name, { seq: ack.seq });
    assert.deepEqual(decodeJson(stored.data), { input: 'hi' });
    assert.equal(stored.header.get(Headers.tenant), 'acme');
    assert.equal(stored.header.get(Headers.msgId), 'acme:k1');
  });

  it('stores a message published twice with the same msgId once, and says duplicate with the first seq', async () => {
    const subject = Subjects.task('acme', 'dedupe');
    const before = (await jsm.streams.info(Streams.tasks.name)).state.messages;
    const first = await publisher.publish(subject, { n: 1 }, { msgId: 'acme:same' });
    const second = await publisher.publish(subject, { n: 2 }, { msgId: 'acme:same' });
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true);
    assert.equal(second.seq, first.seq);
    assert.equal((await jsm.streams.info(Streams.tasks.name)).state.messages, before + 1);
    assert.deepEqual(decodeJson((await jsm.streams.getMessage(Streams.tasks.name, { seq: first.seq })).data), { n: 1 });
  });

  it('fails with no_stream when no stream captures the subject, once its timeout is spent', async () => {
    await assert.rejects(publisher.publish('nowhere.at.all', {}, { timeoutMs: 300 }), (err: Error) => {
      assert.ok(err instanceof PublishError);
      assert.equal(err.failure, 'no_stream');
      assert.match(err.message, /no stream captures nowhere\.at\.all/);
      return true;
    });
  });

  it('tries again within its timeout while no stream answers (a leader election looks so), and stores once', async () => {
    const spec = { ...Streams.results, name: 'PUBLISHER_LATE', subjects: ['publisher.late.>'] };
    const publishing = publisher.publish('publisher.late.one', { n: 1 }, { msgId: 'late-1', timeoutMs: 5_000 });
    await new Promise((resolve) => setTimeout(resolve, 300));
    await provisionStreams(nc, [spec]);
    const ack = await publishing;
    assert.equal(ack.stream, 'PUBLISHER_LATE');
    assert.equal((await jsm.streams.info('PUBLISHER_LATE')).state.messages, 1);
  });

  it('fails with rejected when the subject lands in another stream than expected', async () => {
    await assert.rejects(
      publisher.publish(Subjects.result('acme', 'a', 't1'), {}, { expectStream: Streams.tasks.name }),
      (err: Error) => err instanceof PublishError && err.failure === 'rejected',
    );
  });

  it('fails with timeout when the server does not answer, without waiting for ever', async () => {
    const slow = await startNats();
    const nc2 = await connectNats({ url: slow.url, name: 'publisher-spec-frozen', logger: silentLogger });
    try {
      await provisionStreams(nc2, [Streams.tasks]);
      await slow.kill('SIGSTOP');
      await assert.rejects(
        new JetStreamPublisher(nc2, { defaultTimeoutMs: 300 }).publish(Subjects.task('acme', 'a'), {}),
        (err: Error) => err instanceof PublishError && err.failure === 'timeout' && /within 300 ms/.test(err.message),
      );
    } finally {
      await slow.kill('SIGCONT');
      await nc2.close();
      await slow.stop();
    }
  });
});

