import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Headers, type ConsumerSpec, type StreamSpec } from '@keelson/contracts';
import { startNats, waitFor, type NatsServerHandle } from '@keelson/testing';
import { type JetStreamManager, type NatsConnection } from 'nats';
import { connectNats } from './connection';
import { ConsumerRunner } from './consumer-runner';
import type { InboundMessage } from './inbound-message';
import { silentLogger } from './logger';
import { consumerConfigFor, provisionStreams } from './provisioning';
import { JetStreamPublisher } from './publisher';
import { StrandedMessages } from './stranded-messages';

/**
 * A stranded message is made the way a crashed server leaves one: in a work-queue stream, at or below the
 * consumer's ack floor. Without a crash: the consumer first reads only a marker subject, acknowledges a marker
 * published after the messages (its floor moves past them), then its filter is widened to the messages'
 * subject. The test is deterministic and needs no server restart.
 */
describe('StrandedMessages re-queues what a work-queue consumer would never deliver', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: JetStreamPublisher;
  let counter = 0;

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'stranded-spec', logger: silentLogger });
    jsm = await nc.jetstreamManager();
    publisher = new JetStreamPublisher(nc, { logger: silentLogger });
  });

  after(async () => {
    await nc.drain();
    await nats.stop();
  });

  /** A work-queue (or limits) stream holding `stranded` messages, and a consumer whose ack floor is past them. */
  async function strand(stranded: Array<{ body: unknown; msgId?: string }>, retention: StreamSpec['retention'] = 'workqueue') {
    const n = ++counter;
    const stream: StreamSpec = { name: `STRAND_${n}`, subjects: [`strand${n}.>`], retention, maxAgeMs: 60_000, duplicateWindowMs: 60_000, description: 'test' };
    const spec: ConsumerSpec = {
      stream: stream.name,
      durable: `w${n}`,
      filterSubject: `strand${n}.>`,
      ackWaitMs: 5_000,
      maxDeliver: 3,
      maxAckPending: 100,
      retryBackoffMs: [20],
      description: 'test',
    };
    await provisionStreams(nc, [stream]);
    const seqs: number[] = [];
    for (const m of stranded) seqs.push((await publisher.publish(`strand${n}.acme.item`, m.body, m.msgId ? { msgId: m.msgId } : {})).seq);
    await moveFloorPastAll(spec);
    const floor = (await jsm.consumers.info(stream.name, spec.durable)).ack_floor.stream_seq;
    assert.ok(floor > seqs.at(-1)!, 'the set-up strands the messages below the ack floor');
    return { stream, spec, seqs, subject: `strand${n}.acme.item` };
  }

  /** Acknowledges a marker published now, read through a marker-only filter, then widens the filter back. */
  async function moveFloorPastAll(spec: ConsumerSpec): Promise<void> {
    const marker = spec.filterSubject.replace(/>$/, 'marker');
    const narrow = { ...consumerConfigFor(spec), filter_subject: marker };
    await jsm.consumers.add(spec.stream, narrow).catch(() => jsm.consumers.update(spec.stream, spec.durable, narrow));
    await publisher.publish(marker, { marker: true });
    const batch = await (await nc.jetstream().consumers.get(spec.stream, spec.durable)).fetch({ max_messages: 1, expires: 2_000 });
    for await (const m of batch) await m.ackAck();
    await jsm.consumers.update(spec.stream, spec.durable, consumerConfigFor(spec));
    await nats.restart();
    await waitFor(async () => ((await jsm.consumers.info(spec.stream, spec.durable).catch(() => undefined)) ? true : undefined), {
      description: 'JetStream back after the restart',
    });
  }

  it('re-queues only on the second sweep, as a copy the handler reads as the original, and deletes the original', async () => {
    const { stream, spec, seqs, subject } = await strand([{ body: { n: 1 }, msgId: 'acme:key-1' }, { body: { n: 2 } }]);
    const seen: InboundMessage[] = [];
    const runner = new ConsumerRunner(nc, spec, async (m) => void seen.push(m), { logger: silentLogger, strandedSweepMs: 0 });
    await runner.start();
    try {
      const sweeper = new StrandedMessages(nc, spec, silentLogger);
      assert.equal(await sweeper.sweep(), 0, 'the first sweep only notes them');
      assert.equal((await jsm.streams.info(stream.name)).state.messages, 2);
      assert.equal(await sweeper.sweep(), 2, 'the second re-queues both');
      await waitFor(() => (seen.length === 2 ? true : undefined), { description: 'both copies to reach the handler' });
      const bySeq = new Map(seen.map((m) => [m.streamSeq, m]));
      assert.deepEqual([...bySeq.keys()].sort(), seqs, 'each copy carries its original sequence');
      assert.equal(bySeq.get(seqs[0]!)!.msgId, 'acme:key-1', 'and its original Nats-Msg-Id');
      assert.equal(bySeq.get(seqs[1]!)!.msgId, undefined, 'a message without one stays without one');
      assert.deepEqual(bySeq.get(seqs[0]!)!.data, { n: 1 });
      assert.equal(bySeq.get(seqs[0]!)!.subject, subject);
      await waitFor(async () => ((await jsm.streams.info(stream.name)).state.messages === 0 ? true : undefined), {
        description: 'the originals deleted and the copies acknowledged',
      });
      assert.equal(await sweeper.sweep(), 0, 'nothing is left to re-queue');
    } finally {
      await runner.stop();
    }
  });

  it('two sweepers (two replicas) publish one copy of each message', async () => {
    const { stream, spec } = await strand([{ body: { n: 1 } }]);
    const a = new StrandedMessages(nc, spec, silentLogger);
    const b = new StrandedMessages(nc, spec, silentLogger);
    await Promise.all([a.sweep(), b.sweep()]);
    await Promise.all([a.sweep(), b.sweep()]);
    const info = await jsm.streams.info(stream.name);
    assert.equal(info.state.messages, 1, 'one copy, the original deleted');
    const copy = await jsm.streams.getMessage(stream.name, { seq: info.state.last_seq });
    assert.equal(copy.header?.get(Headers.requeuedFromSeq), '1');
  });

  it('a copy that is stranded again keeps the first original identity', async () => {
    const { spec, seqs } = await strand([{ body: { n: 1 }, msgId: 'acme:again' }]);
    const sweeper = new StrandedMessages(nc, spec, silentLogger);
    await sweeper.sweep();
    await sweeper.sweep();
    // Strand the copy too.
    await moveFloorPastAll(spec);
    const again = new StrandedMessages(nc, spec, silentLogger);
    await again.sweep();
    assert.equal(await again.sweep(), 1);
    const copy = await jsm.streams.getMessage(spec.stream, { seq: (await jsm.streams.info(spec.stream)).state.last_seq });
    assert.equal(copy.header?.get(Headers.requeuedFromSeq), String(seqs[0]));
    assert.equal(copy.header?.get(Headers.requeuedMsgId), 'acme:again');
  });

  it('leaves a limits stream alone: acknowledged messages stay there by design', async () => {
    const { stream, spec } = await strand([{ body: { n: 1 } }], 'limits');
    const sweeper = new StrandedMessages(nc, spec, silentLogger);
    assert.equal(await sweeper.sweep(), 0);
    assert.equal(await sweeper.sweep(), 0);
    assert.equal((await jsm.streams.info(stream.name)).state.messages, 2, 'the message and the marker, both still there');
  });

  it('the runner sweeps on its own timer and stops sweeping when stopped', async () => {
    const { stream, spec, seqs } = await strand([{ body: { n: 7 } }]);
    const seen: InboundMessage[] = [];
    const runner = new ConsumerRunner(nc, spec, async (m) => void seen.push(m), { logger: silentLogger, strandedSweepMs: 100 });
    await runner.start();
    try {
      await waitFor(() => (seen.length === 1 ? true : undefined), { description: 'the runner to re-queue and run the stranded message' });
      assert.equal(seen[0]!.streamSeq, seqs[0]);
      await waitFor(async () => ((await jsm.streams.info(stream.name)).state.messages === 0 ? true : undefined), { description: 'the queue to empty' });
    } finally {
      await runner.stop();
    }
  });
});
