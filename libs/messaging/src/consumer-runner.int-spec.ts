import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Headers, Streams, Subjects, type ConsumerSpec, type StreamSpec } from '@keelson/contracts';
import { startNats, waitFor, type NatsServerHandle } from '@keelson/testing';
import { type JetStreamManager, type NatsConnection } from 'nats';
import { connectNats } from './connection';
import { ConsumerRunner } from './consumer-runner';
import { DEAD_LETTER_ORIGINAL_MSG_ID } from './dead-letter';
import { DeferError, PoisonMessageError } from './errors';
import type { InboundMessage } from './inbound-message';
import type { MessagingLogger } from './logger';
import { provisionConsumer, provisionStreams } from './provisioning';
import { JetStreamPublisher } from './publisher';

/** How each message was settled, as the runner decided it: ack, nak, term and dead letters. */
describe('ConsumerRunner settles each message by its outcome', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: JetStreamPublisher;
  const runners: ConsumerRunner[] = [];
  const logs: { level: string; msg: string; meta?: object }[] = [];
  const logger: MessagingLogger = {
    debug: (msg, meta) => logs.push({ level: 'debug', msg, meta }),
    info: (msg, meta) => logs.push({ level: 'info', msg, meta }),
    warn: (msg, meta) => logs.push({ level: 'warn', msg, meta }),
    error: (msg, meta) => logs.push({ level: 'error', msg, meta }),
  };

  let counter = 0;
  /** A fresh workqueue stream and consumer per test, so tests do not see each other's messages. */
  async function setup(overrides: Partial<ConsumerSpec> = {}): Promise<{ stream: StreamSpec; spec: ConsumerSpec; subject: string }> {
    const n = ++counter;
    const stream: StreamSpec = {
      name: `SETTLE_${n}`,
      subjects: [`settle${n}.>`],
      retention: 'workqueue',
      maxAgeMs: 60_000,
      duplicateWindowMs: 60_000,
      description: 'test',
    };
    const spec: ConsumerSpec = {
      stream: stream.name,
      durable: `worker-${n}`,
      filterSubject: `settle${n}.>`,
      ackWaitMs: 5_000,
      maxDeliver: 3,
      maxAckPending: 100,
      retryBackoffMs: [20, 40],
      description: 'test',
      ...overrides,
    };
    await provisionStreams(nc, [stream]);
    await provisionConsumer(nc, spec);
    return { stream, spec, subject: `settle${n}.acme.item` };
  }

  function run(spec: ConsumerSpec, handler: (msg: InboundMessage) => Promise<void>, concurrency = 4): Promise<ConsumerRunner> {
    const runner = new ConsumerRunner(nc, spec, handler, { concurrency, logger });
    runners.push(runner);
    return runner.start().then(() => runner);
  }

  async function deadLetters(stream: string) {
    const info = await jsm.streams.info(Streams.deadLetters.name);
    const out = [];
    for (let seq = info.state.first_seq; seq <= info.state.last_seq && info.state.messages > 0; seq++) {
      const m = await jsm.streams.getMessage(Streams.deadLetters.name, { seq }).catch(() => undefined);
      if (m && m.subject === Subjects.deadLetter(stream)) out.push(m);
    }
    return out;
  }

  async function consumerState(spec: ConsumerSpec) {
    const ci = await jsm.consumers.info(spec.stream, spec.durable);
    return { ackPending: ci.num_ack_pending, pending: ci.num_pending, redelivered: ci.num_redelivered };
  }

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'consumer-runner-spec', logger });
    jsm = await nc.jetstreamManager();
    publisher = new JetStreamPublisher(nc, { logger });
    await provisionStreams(nc, [Streams.deadLetters]);
  });

  after(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await nc.drain();
    await nats.stop();
  });

  it('acks after the handler succeeds, and hands it parsed data, headers and delivery info', async () => {
    const { stream, spec, subject } = await setup();
    const seen: InboundMessage[] = [];
    await run(spec, async (msg) => {
      seen.push(msg);
    });
    const ack = await publisher.publish(subject, { n: 1 }, { msgId: 'm-1', headers: { [Headers.tenant]: 'acme' } });
    await waitFor(() => seen.length === 1, { description: 'the handler to run once' });
    const msg = seen[0]!;
    assert.deepEqual(msg.data, { n: 1 });
    assert.equal(msg.subject, subject);
    assert.equal(msg.msgId, 'm-1');
    assert.equal(msg.headers[Headers.tenant], 'acme');
    assert.equal(msg.stream, stream.name);
    assert.equal(msg.streamSeq, ack.seq);
    assert.equal(msg.deliveryCount, 1);
    // workqueue: an acked message is removed from the stream
    await waitFor(async () => (await jsm.streams.info(stream.name)).state.messages === 0, { description: 'the acked message to leave the stream' });
    assert.deepEqual(await consumerState(spec), { ackPending: 0, pending: 0, redelivered: 0 });
  });

  it('naks a failure and succeeds on the second delivery', async () => {
    const { stream, spec, subject } = await setup();
    const deliveries: number[] = [];
    await run(spec, async (msg) => {
      deliveries.push(msg.deliveryCount);
      if (msg.deliveryCount === 1) throw new Error('transient');
    });
    await publisher.publish(subject, { n: 2 });
    await waitFor(async () => deliveries.length === 2 && (await jsm.streams.info(stream.name)).state.messages === 0, {
      description: 'a retry that succeeds',
    });
    assert.deepEqual(deliveries, [1, 2]);
    assert.equal((await deadLetters(stream.name)).length, 0);
    assert.ok(logs.some((l) => l.level === 'warn' && l.msg === 'handler failed; will retry'));
  });

  it('dead-letters once after max_deliver failures, with the reason and the original payload and headers', async () => {
    const { stream, spec, subject } = await setup({ maxDeliver: 3 });
    const deliveries: number[] = [];
    await run(spec, async (msg) => {
      deliveries.push(msg.deliveryCount);
      throw new Error(`boom ${msg.deliveryCount}`);
    });
    const ack = await publisher.publish(subject, { n: 3 }, { msgId: 'orig-3', headers: { [Headers.tenant]: 'acme' } });
    const dlq = await waitFor(async () => {
      const d = await deadLetters(stream.name);
      return d.length > 0 ? d : undefined;
    }, { description: 'a dead letter' });
    await waitFor(async () => (await jsm.streams.info(stream.name)).state.messages === 0, { description: 'the source message to be terminated' });
    assert.deepEqual(deliveries, [1, 2, 3]);
    assert.equal(dlq.length, 1);
    const dl = dlq[0]!;
    assert.deepEqual(dl.json(), { n: 3 });
    assert.equal(dl.header.get(Headers.deadLetterReason), 'max_deliver reached: boom 3');
    assert.equal(dl.header.get(Headers.deadLetterStream), stream.name);
    assert.equal(dl.header.get(Headers.deadLetterSubject), subject);
    assert.equal(dl.header.get(Headers.deadLetterSeq), String(ack.seq));
    assert.equal(dl.header.get(Headers.deliveries), '3');
    assert.equal(dl.header.get(Headers.tenant), 'acme');
    assert.equal(dl.header.get(DEAD_LETTER_ORIGINAL_MSG_ID), 'orig-3');
    assert.deepEqual(await consumerState(spec), { ackPending: 0, pending: 0, redelivered: 0 });
  });

  it('reports each settlement and each redelivery to its metrics hook', async () => {
    const { stream, spec, subject } = await setup({ maxDeliver: 2 });
    const events: string[] = [];
    const metrics = { redelivered: () => events.push('redelivered'), settled: (outcome: string) => events.push(outcome) };
    const runner = new ConsumerRunner(nc, spec, async () => Promise.reject(new Error('always')), { concurrency: 2, logger, metrics });
    runners.push(runner);
    await runner.start();
    await publisher.publish(subject, { n: 'metrics' });
    await waitFor(async () => (await deadLetters(stream.name)).length === 1 && events.length === 3, { description: 'a nak, then a dead letter' });
    assert.deepEqual(events, ['nak', 'redelivered', 'dead-letter']);
  });

  it('dead-letters a poison message at once, without retrying it', async () => {
    const { stream, spec, subject } = await setup();
    const deliveries: number[] = [];
    await run(spec, async (msg) => {
      deliveries.push(msg.deliveryCount);
      throw new PoisonMessageError('agent does not exist', 'agent_not_found');
    });
    await publisher.publish(subject, { n: 4 });
    const dlq = await waitFor(async () => ((await deadLetters(stream.name)).length === 1 ? deadLetters(stream.name) : undefined), {
      description: 'a dead letter',
    });
    await waitFor(async () => (await consumerState(spec)).ackPending === 0, { description: 'the poison message to be settled' });
    assert.equal(dlq[0]!.header.get(Headers.deadLetterReason), 'agent_not_found: agent does not exist');
    assert.equal(dlq[0]!.header.get(Headers.deliveries), '1');
    assert.deepEqual(deliveries, [1]);
    assert.equal((await jsm.streams.info(stream.name)).state.messages, 0, 'terminated, so gone from the workqueue');
    assert.equal((await consumerState(spec)).redelivered, 0);
  });

  it('dead-letters a body that is not JSON without calling the handler, keeping the raw bytes', async () => {
    const { stream, spec, subject } = await setup();
    let calls = 0;
    await run(spec, async () => {
      calls++;
    });
    await nc.jetstream().publish(subject, new TextEncoder().encode('{not json'));
    const dlq = await waitFor(async () => ((await deadLetters(stream.name)).length === 1 ? deadLetters(stream.name) : undefined), {
      description: 'a dead letter',
    });
    assert.match(dlq[0]!.header.get(Headers.deadLetterReason), /^invalid JSON/);
    assert.equal(new TextDecoder().decode(dlq[0]!.data), '{not json');
    assert.equal(calls, 0);
  });

  it('naks a deferral with its delay, does not log it as a failure, and runs it again', async () => {
    const { stream, spec, subject } = await setup({ maxDeliver: 5 });
    const deliveries: number[] = [];
    const warningsBefore = logs.filter((l) => l.level === 'warn' || l.level === 'error').length;
    await run(spec, async (msg) => {
      deliveries.push(msg.deliveryCount);
      if (msg.deliveryCount < 3) throw new DeferError(30, 'lease held by another turn');
    });
    await publisher.publish(subject, { n: 5 });
    await waitFor(async () => deliveries.length === 3 && (await jsm.streams.info(stream.name)).state.messages === 0, {
      description: 'two deferrals then success',
    });
    assert.deepEqual(deliveries, [1, 2, 3]);
    assert.equal(logs.filter((l) => l.level === 'warn' || l.level === 'error').length, warningsBefore, 'no warnings for deferrals');
    assert.equal((await deadLetters(stream.name)).length, 0);
  });

  it('dead-letters without running the handler a delivery beyond maxDeliver (the last attempt died unsettled)', async () => {
    // maxDeliver 1 with a short ack wait: the first delivery is left unsettled (no heartbeat), as if its process died.
    const { stream, spec, subject } = await setup({ maxDeliver: 1, ackWaitMs: 500 });
    const deliveries: number[] = [];
    const exhausted: { data: unknown; deliveryCount: number }[] = [];
    let release!: () => void;
    const stuck = new Promise<void>((resolve) => (release = resolve));
    const runner = new ConsumerRunner(
      nc,
      spec,
      async (msg) => {
        deliveries.push(msg.deliveryCount);
        await stuck;
      },
      {
        logger,
        heartbeat: false,
        onExhausted: async (msg) => {
          exhausted.push({ data: msg.data, deliveryCount: msg.deliveryCount });
        },
      },
    );
    runners.push(runner);
    await runner.start();
    await publisher.publish(subject, { n: 6 });
    const dlq = await waitFor(async () => ((await deadLetters(stream.name)).length === 1 ? deadLetters(stream.name) : undefined), {
      description: 'the redelivery to be dead-lettered',
    });
    assert.match(dlq[0]!.header.get(Headers.deadLetterReason), /^max_deliver reached: delivery 2 of 1/);
    assert.deepEqual(deliveries, [1], 'the handler ran only for the first delivery');
    assert.deepEqual(exhausted, [{ data: { n: 6 }, deliveryCount: 2 }], 'onExhausted heard of the give-up first');
    release();
    await runner.stop();
  });

  it('naks instead of terminating when the dead letter cannot be stored, so nothing is lost', async () => {
    const { stream, spec, subject } = await setup();
    await jsm.streams.delete(Streams.deadLetters.name);
    try {
      let calls = 0;
      await run(spec, async () => {
        calls++;
        throw new PoisonMessageError('bad');
      });
      await publisher.publish(subject, { n: 7 });
      await waitFor(() => calls >= 2, { description: 'the poison message to come back after the failed dead letter' });
      assert.ok(logs.some((l) => l.level === 'error' && l.msg === 'cannot publish the dead letter; nak so it comes back'));
      assert.equal((await jsm.streams.info(stream.name)).state.messages, 1, 'still in its stream');
    } finally {
      await provisionStreams(nc, [Streams.deadLetters]);
    }
    await waitFor(async () => (await deadLetters(stream.name)).length === 1, { description: 'the dead letter once the DLQ is back' });
    await waitFor(async () => (await jsm.streams.info(stream.name)).state.messages === 0, { description: 'the message to be terminated' });
  });
});
