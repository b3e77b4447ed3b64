import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { EventTypes, Streams, Subjects, createEvent } from '@keelson/contracts';
import { connectNats, encodeJson, provisionStreams, silentLogger } from '@keelson/messaging';
import { startNatsCluster, waitFor, type NatsClusterHandle } from '@keelson/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import { readRunLog, type LoggedFrame } from './run-log-reader';

/** A bound that only a hang reaches: nats.js alone, with a dead consumer node, never recovers at all. */
const HANG_MS = 45_000;

/**
 * The run log reader on a three-node cluster with the run log at three replicas: the ordered consumer
 * behind a read has one replica, on one node; that node's loss must not stall the read, and a read that
 * cannot open must still end when its caller gives up.
 */
describe('readRunLog on a three-node NATS cluster', () => {
  let cluster: NatsClusterHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    nc = await connectNats({ url: cluster.url, name: 'run-log-reader-spec', logger: silentLogger, pingIntervalMs: 2_000 });
    jsm = await nc.jetstreamManager();
    await provisionStreams(nc, [Streams.runs], { replicas: 3 });
  });

  after(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  const publish = (subject: string, type: string, n: number) =>
    waitFor(
      async () => {
        const event = createEvent({ id: `${subject}:${n}`, type, source: '/spec', tenant: 'dev', data: { n } });
        // msgID: a publish retried across an election is stored once.
        return nc.jetstream().publish(subject, encodeJson(event), { msgID: event.id, timeout: 2_000 }).catch(() => undefined);
      },
      { timeoutMs: HANG_MS, intervalMs: 250, description: `event ${n} stored` },
    );

  /** The node holding the ordered consumer that reads `subject` (its one replica). */
  const consumerNode = async (subject: string) => {
    for await (const info of jsm.consumers.list(Streams.runs.name)) {
      if (info.config.filter_subject === subject && info.cluster?.leader) return info.cluster.leader;
    }
    return undefined;
  };

  it('goes on after the node holding its consumer dies: every event once, in order, none lost', async () => {
    const subject = Subjects.taskRun('dev', 'tsk_node_loss');
    await publish(subject, EventTypes.runStarted, 1);
    const abort = new AbortController();
    const frames: LoggedFrame[] = [];
    const reading = (async () => {
      for await (const frame of readRunLog(nc, subject, {}, abort.signal)) {
        frames.push(frame);
        if (frame.name === 'run.completed') return;
      }
    })();
    await waitFor(async () => frames.length === 1 || undefined, { timeoutMs: 10_000, description: 'the first event read' });
    const holder = await waitFor(() => consumerNode(subject), { timeoutMs: 10_000, description: "the reader's consumer" });
    await cluster.node(holder).kill();

    await publish(subject, EventTypes.runDelta, 2);
    await publish(subject, EventTypes.runCompleted, 3);
    const timer = setTimeout(() => abort.abort(), HANG_MS);
    await reading;
    clearTimeout(timer);
    await cluster.node(holder).restart();

    assert.equal(abort.signal.aborted, false, `the read stalled after ${holder} died: ${frames.length} of 3 events`);
    assert.deepEqual(frames.map((f) => f.name), ['run.started', 'run.delta', 'run.completed']);
    assert.deepEqual(frames.map((f) => (f.event.data as { n: number }).n), [1, 2, 3]);
    const seqs = frames.map((f) => f.seq);
    assert.deepEqual(seqs, [...seqs].sort((a, b) => a - b), 'in stream order');
  });

  it("ends when its caller gives up while JetStream cannot answer (no quorum), though opening never finished", async () => {
    await cluster.waitForMetaLeader();
    const [, second, third] = cluster.nodes;
    await second!.kill();
    await third!.kill();
    try {
      const abort = new AbortController();
      const frames: LoggedFrame[] = [];
      const reading = (async () => {
        for await (const frame of readRunLog(nc, Subjects.taskRun('dev', 'tsk_no_quorum'), {}, abort.signal)) frames.push(frame);
        return 'ended';
      })();
      setTimeout(() => abort.abort(), 1_000);
      let hang: NodeJS.Timeout | undefined;
      const outcome = await Promise.race([reading, new Promise((resolve) => (hang = setTimeout(() => resolve('hung'), HANG_MS)))]);
      clearTimeout(hang);
      assert.equal(outcome, 'ended');
      assert.deepEqual(frames, []);
    } finally {
      await second!.restart();
      await third!.restart();
    }
  });
});
