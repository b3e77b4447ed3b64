import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { ConsumerSpec, StreamSpec } from '@keelson/contracts';
import { startNats, waitFor, type NatsServerHandle } from '@keelson/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import { connectNats } from './connection';
import { ConsumerRunner, type ConsumerRunnerOptions } from './consumer-runner';
import type { InboundMessage } from './inbound-message';
import { silentLogger, type MessagingLogger } from './logger';
import { provisionConsumer, provisionStreams } from './provisioning';
import { JetStreamPublisher } from './publisher';

function gate(): { wait: Promise<void>; open: () => void } {
  let open!: () => void;
  const wait = new Promise<void>((resolve) => (open = resolve));
  return { wait, open };
}

/** Competing consumers, heartbeats, the concurrency bound, graceful stop, and recovery. */
describe('ConsumerRunner lifecycle', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  let publisher: JetStreamPublisher;
  const runners: ConsumerRunner[] = [];
  const connections: NatsConnection[] = [];
  const logs: { level: string; msg: string }[] = [];
  const logger: MessagingLogger = {
    debug: () => undefined,
    info: (msg) => logs.push({ level: 'info', msg }),
    warn: (msg) => logs.push({ level: 'warn', msg }),
    error: (msg) => logs.push({ level: 'error', msg }),
  };

  let counter = 0;
  async function setup(overrides: Partial<ConsumerSpec> = {}): Promise<{ spec: ConsumerSpec; subject: string; stream: StreamSpec }> {
    const n = ++counter;
    const stream: StreamSpec = {
      name: `LIFE_${n}`,
      subjects: [`life${n}.>`],
      retention: 'workqueue',
      maxAgeMs: 60_000,
      duplicateWindowMs: 60_000,
      description: 'test',
    };
    const spec: ConsumerSpec = {
      stream: stream.name,
      durable: `worker-${n}`,
      filterSubject: `life${n}.>`,
      ackWaitMs: 5_000,
      maxDeliver: 5,
      maxAckPending: 1_000,
      retryBackoffMs: [50],
      description: 'test',
      ...overrides,
    };
    await provisionStreams(nc, [stream]);
    await provisionConsumer(nc, spec);
    return { spec, subject: `life${n}.acme.job`, stream };
  }

  async function start(
    spec: ConsumerSpec,
    handler: (msg: InboundMessage) => Promise<void>,
    opts: ConsumerRunnerOptions = {},
    conn: NatsConnection = nc,
  ): Promise<ConsumerRunner> {
    const runner = new ConsumerRunner(conn, spec, handler, { logger, ...opts });
    runners.push(runner);
    await runner.start();
    return runner;
  }

  const streamMessages = async (name: string) => (await jsm.streams.info(name)).state.messages;

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'lifecycle-spec', logger: silentLogger });
    jsm = await nc.jetstreamManager({ timeout: 2_000 });
    publisher = new JetStreamPublisher(nc);
  });

  after(async () => {
    await Promise.all(runners.map((r) => r.stop()));
    await Promise.all([nc, ...connections].map((c) => c.close()));
    await nats.stop();
  });

  it('two runners on one durable share the work, and each message is handled exactly once', async () => {
    const { spec, subject, stream } = await setup();
    const nc2 = await connectNats({ url: nats.url, name: 'lifecycle-spec-2', logger: silentLogger });
    connections.push(nc2);
    const handledBy = new Map<number, string[]>();
    const handler = (name: string) => async (msg: InboundMessage) => {
      handledBy.set((msg.data as { i: number }).i, [...(handledBy.get((msg.data as { i: number }).i) ?? []), name]);
      await new Promise((resolve) => setTimeout(resolve, 10));
    };
    await start(spec, handler('a'), { concurrency: 1 });
    await start(spec, handler('b'), { concurrency: 1 }, nc2);
    const total = 40;
    for (let i = 0; i < total; i++) await publisher.publish(subject, { i });
    await waitFor(async () => handledBy.size === total && (await streamMessages(stream.name)) === 0, {
      description: `all ${total} messages handled and acked`,
      timeoutMs: 20_000,
    });
    const all = [...handledBy.values()];
    assert.ok(all.every((names) => names.length === 1), 'no message handled twice');
    const counts = { a: all.filter((n) => n[0] === 'a').length, b: all.filter((n) => n[0] === 'b').length };
    assert.ok(counts.a > 0 && counts.b > 0, `both runners got work: ${JSON.stringify(counts)}`);
  });

  it('keeps a handler that runs longer than ackWait from being redelivered, by calling working()', async () => {
    const { spec, subject, stream } = await setup({ ackWaitMs: 1_000 });
    const deliveries: number[] = [];
    let done = false;
    await start(spec, async (msg) => {
      deliveries.push(msg.deliveryCount);
      await new Promise((resolve) => setTimeout(resolve, 3_500)); // 3.5 ack waits
      done = true;
    });
    await publisher.publish(subject, { slow: true });
    await waitFor(async () => done && (await streamMessages(stream.name)) === 0, { description: 'the slow handler to finish and ack' });
    assert.deepEqual(deliveries, [1]);
    assert.equal((await jsm.consumers.info(spec.stream, spec.durable)).num_redelivered, 0);
  });

  it('(control) without the heartbeat the same slow handler is redelivered', async () => {
    const { spec, subject } = await setup({ ackWaitMs: 1_000 });
    const deliveries: number[] = [];
    const runner = await start(
      spec,
      async (msg) => {
        deliveries.push(msg.deliveryCount);
        await new Promise((resolve) => setTimeout(resolve, 2_500));
      },
      { heartbeat: false },
    );
    await publisher.publish(subject, { slow: true });
    await waitFor(() => deliveries.includes(2), { description: 'a redelivery after ack wait', timeoutMs: 8_000 });
    await runner.stop();
  });

  it('never runs more than `concurrency` handlers at once', async () => {
    const { spec, subject, stream } = await setup();
    let running = 0;
    let peak = 0;
    const release = gate();
    const runner = await start(
      spec,
      async () => {
        running++;
        peak = Math.max(peak, running);
        await release.wait;
        running--;
      },
      { concurrency: 3 },
    );
    for (let i = 0; i < 12; i++) await publisher.publish(subject, { i });
    try {
      await waitFor(() => running === 3, { description: 'three handlers running' });
      // Give the runner every chance to overrun the bound before releasing.
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(runner.inFlight, 3);
      assert.equal((await jsm.consumers.info(spec.stream, spec.durable)).num_ack_pending, 3, 'nothing pulled beyond the free slots');
    } finally {
      release.open();
    }
    await waitFor(async () => (await streamMessages(stream.name)) === 0, { description: 'all 12 handled' });
    assert.equal(peak, 3);
  });

  it('stop() waits for in-flight handlers and acks them, leaves the rest to the next runner at once, and takes no more', async () => {
    // A long ack wait: a message not handed back would be stuck for a minute, beyond every wait below.
    const { spec, subject, stream } = await setup({ ackWaitMs: 60_000 });
    const release = gate();
    const started: number[] = [];
    const finished: number[] = [];
    const runner = await start(
      spec,
      async (msg) => {
        const i = (msg.data as { i: number }).i;
        started.push(i);
        await release.wait;
        finished.push(i);
      },
      { concurrency: 2, maxMessages: 2 },
    );
    for (let i = 0; i < 6; i++) await publisher.publish(subject, { i });
    let stopped = false;
    try {
      await waitFor(() => started.length === 2, { description: 'two handlers in flight' });
      const stopping = runner.stop().then(() => (stopped = true));
      await new Promise((resolve) => setTimeout(resolve, 200));
      assert.equal(stopped, false, 'stop() must wait for the in-flight handlers');
      release.open();
      await stopping;
    } finally {
      release.open();
    }

    assert.deepEqual([...finished].sort(), [...started].sort(), 'every started handler finished before stop() returned');
    assert.equal(runner.inFlight, 0);
    assert.equal(await streamMessages(stream.name), 4, 'the two finished messages were acked (gone from the workqueue)');

    await publisher.publish(subject, { i: 99 });
    const seenByNext: number[] = [];
    await start(spec, async (msg) => {
      seenByNext.push((msg.data as { i: number }).i);
    });
    await waitFor(() => seenByNext.length === 5, { description: 'the next runner to get the four unstarted messages and the new one' });
    assert.deepEqual([...seenByNext].sort((a, b) => a - b), [...[0, 1, 2, 3, 4, 5].filter((i) => !started.includes(i)), 99]);
    assert.ok(!started.includes(99), 'a stopped runner takes no new messages');
  });

  it('pulls again, re-creating the consumer from its spec, when the consumer is deleted under it', async () => {
    const { spec, subject } = await setup();
    const seen: number[] = [];
    await start(spec, async (msg) => {
      seen.push((msg.data as { i: number }).i);
    });
    await publisher.publish(subject, { i: 1 });
    await waitFor(() => seen.includes(1), { description: 'the first message' });
    await jsm.consumers.delete(spec.stream, spec.durable);
    await waitFor(() => logs.some((l) => l.msg === 'consumer was deleted'), { description: 'the deletion to be noticed' });
    await waitFor(() => jsm.consumers.info(spec.stream, spec.durable), { description: 'the consumer to be re-provisioned' });
    await publisher.publish(subject, { i: 2 });
    await waitFor(() => seen.includes(2), { description: 'a message after the consumer came back', timeoutMs: 15_000 });
  });

  it('stops pulling, with an error logged, when its connection is closed, and stop() still returns', async () => {
    const { spec } = await setup();
    const own = await connectNats({ url: nats.url, name: 'lifecycle-spec-closing', logger: silentLogger });
    const runner = await start(spec, async () => undefined, {}, own);
    await own.close();
    await waitFor(() => logs.some((l) => l.level === 'error' && l.msg === 'the NATS connection is closed; this consumer stops pulling'), {
      description: 'the closed connection to be noticed',
    });
    await runner.stop();
    assert.equal(runner.inFlight, 0);
  });

  it('keeps consuming after the NATS server restarts', async () => {
    const { spec, subject } = await setup();
    const seen: number[] = [];
    await start(spec, async (msg) => {
      seen.push((msg.data as { i: number }).i);
    });
    await publisher.publish(subject, { i: 1 });
    await waitFor(() => seen.includes(1), { description: 'a message before the restart' });
    await nats.restart();
    await waitFor(() => publisher.publish(subject, { i: 2 }, { msgId: 'after-restart', timeoutMs: 1_000 }), {
      description: 'a publish after the restart',
      timeoutMs: 20_000,
    });
    await waitFor(() => seen.includes(2), { description: 'a message after the restart', timeoutMs: 20_000 });
  });
});
