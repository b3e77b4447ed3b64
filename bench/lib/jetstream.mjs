// Raw JetStream work with the nats client alone (no Keelson code on the path): the baseline, the
// pipelined publisher the NATS submission phase shares with it, and the results counter.
import { AckPolicy, nanos } from 'nats';
import { Consumers, Streams } from '../../libs/contracts/dist/index.js';
import { consumerConfigFor, streamConfigFor } from '../../libs/messaging/dist/index.js';
import { now, rate, round } from './stats.mjs';

export const BASELINE_STREAM = 'BENCH_RAW_TASKS';
const BASELINE_SUBJECT = 'bench.raw.tasks';

/**
 * Publishes `count` messages with a Nats-Msg-Id each, at most `window` unacknowledged at a time, awaiting
 * every PubAck. `message(i)` returns { subject, data, msgId }. Rejects on the first failed publish.
 * Returns the wall time from the first publish to the last PubAck, and the acks seen as duplicates.
 */
export function pipelinedPublish(js, count, window, message, { onAck } = {}) {
  return new Promise((resolve, reject) => {
    let next = 0;
    let inFlight = 0;
    let acked = 0;
    let duplicates = 0;
    let failed = false;
    const t0 = now();
    const pump = () => {
      while (!failed && inFlight < window && next < count) {
        const i = next++;
        const { subject, data, msgId } = message(i);
        inFlight++;
        js.publish(subject, data, { msgID: msgId, timeout: 30_000 }).then(
          (ack) => {
            inFlight--;
            acked++;
            if (ack.duplicate) duplicates++;
            onAck?.(i, ack);
            if (acked === count) resolve({ ms: now() - t0, duplicates });
            else pump();
          },
          (err) => {
            failed = true;
            reject(new Error(`publish ${i} of ${count} failed: ${err.message}`));
          },
        );
      }
    };
    if (count === 0) resolve({ ms: 0, duplicates: 0 });
    else pump();
  });
}

/**
 * Baseline: a stream shaped like KEELSON_TASKS (its StreamSpec: file storage, workqueue, same duplicate window
 * and max age) under another name and subject, and a durable pull consumer shaped like the task-worker's.
 * Phase 1 publishes `count` messages of `payload` with a Nats-Msg-Id each (pipelined, `window` in flight,
 * every PubAck awaited). Phase 2 pull-consumes and acks them all, then flushes so every ack reached the
 * server, and checks the work queue is empty. The stream is deleted afterwards.
 */
export async function rawBaseline(nc, { count, window, payload, pullBatch, meter = () => ({ stop: () => undefined }) }) {
  const jsm = await nc.jetstreamManager();
  const js = nc.jetstream();
  await jsm.streams.delete(BASELINE_STREAM).catch(() => undefined);
  await jsm.streams.add({ ...streamConfigFor(Streams.tasks), name: BASELINE_STREAM, subjects: [`${BASELINE_SUBJECT}.>`], description: 'bench baseline' });
  const durable = 'bench-raw';
  await jsm.consumers.add(BASELINE_STREAM, {
    ...consumerConfigFor({ ...Consumers.taskWorker, stream: BASELINE_STREAM, durable, filterSubject: `${BASELINE_SUBJECT}.>` }),
    ack_policy: AckPolicy.Explicit,
    // The task-worker's consumer caps unacknowledged messages at 512; a raw ceiling should not be capped lower than its pull batch.
    max_ack_pending: Math.max(Consumers.taskWorker.maxAckPending, pullBatch * 2),
    ack_wait: nanos(60_000),
  });
  const runId = Date.now().toString(36);
  const consumer = await js.consumers.get(BASELINE_STREAM, durable);
  const pass = async (prefix, n) => {
    const pubMeter = meter();
    const pub = await pipelinedPublish(js, n, window, (i) => ({
      subject: `${BASELINE_SUBJECT}.dev.assistant`,
      data: payload,
      msgId: `bench:${runId}:${prefix}:${i}`,
    }));
    const pubCpu = pubMeter.stop();
    if (pub.duplicates > 0) throw new Error(`baseline: ${pub.duplicates} publishes were reported as duplicates`);
    const consumeMeter = meter();
    let received = 0;
    const t0 = now();
    const messages = await consumer.consume({ max_messages: pullBatch });
    for await (const msg of messages) {
      msg.ack();
      if (++received >= n) break;
    }
    await nc.flush();
    const consumeMs = now() - t0;
    messages.stop();
    return { pub, consumeMs, pubCpu, consumeCpu: consumeMeter.stop() };
  };
  try {
    // An unmeasured round first, so the client's code is compiled before the clock runs.
    await pass('warm', Math.min(2_000, count));
    await waitForEmpty(jsm);
    const { pub, consumeMs, pubCpu, consumeCpu } = await pass('run', count);

    // Acks are fire-and-forget: confirm the server applied them all (outside the timing).
    await waitForEmpty(jsm);

    const publishPerSec = rate(count, pub.ms);
    const consumePerSec = rate(count, consumeMs);
    return {
      messages: count,
      payloadBytes: payload.length,
      publish: { ms: round(pub.ms, 1), perSec: publishPerSec, cpu: pubCpu },
      consume: { ms: round(consumeMs, 1), perSec: consumePerSec, cpu: consumeCpu },
      // One message through both phases back to back: count / (publish time + consume time).
      publishThenConsumePerSec: rate(count, pub.ms + consumeMs),
    };
  } finally {
    await jsm.streams.delete(BASELINE_STREAM).catch(() => undefined);
  }
}

async function waitForEmpty(jsm) {
  const deadline = Date.now() + 10_000;
  let left = (await jsm.streams.info(BASELINE_STREAM)).state.messages;
  while (left > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    left = (await jsm.streams.info(BASELINE_STREAM)).state.messages;
  }
  if (left > 0) throw new Error(`baseline: ${left} messages still in the work queue after every ack`);
}

/**
 * Counts the results of one tenant on KEELSON_RESULTS with an ordered consumer (ephemeral, nothing left on the
 * server), from the start of the stream: every phase has its own tenant, so nothing else matches.
 * `onResult(taskId, status, t)` runs for the first result of each task.
 */
export async function resultsCounter(nc, tenant, onResult) {
  const js = nc.jetstream();
  const consumer = await js.consumers.get(Streams.results.name, {
    filterSubjects: `keelson.results.${tenant}.>`,
  });
  const messages = await consumer.consume({ max_messages: 1024 });
  const seen = new Set();
  let failed = 0;
  const waiters = [];
  const check = () => {
    for (const w of [...waiters]) {
      if (seen.size >= w.count) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve();
      }
    }
  };
  void (async () => {
    for await (const msg of messages) {
      const t = now();
      const taskId = msg.subject.split('.')[4];
      if (seen.has(taskId)) continue;
      seen.add(taskId);
      let status = 'unknown';
      try {
        status = JSON.parse(new TextDecoder().decode(msg.data))?.data?.status ?? 'unknown';
      } catch {
        // counted anyway; the status stays unknown
      }
      if (status !== 'succeeded') failed++;
      onResult?.(taskId, status, t);
      check();
    }
  })();
  return {
    get count() {
      return seen.size;
    },
    get failed() {
      return failed;
    },
    /** Resolves once `count` distinct results arrived; rejects after `timeoutMs`. */
    waitFor(count, timeoutMs) {
      if (seen.size >= count) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const w = { count, resolve: () => (clearTimeout(timer), resolve()) };
        const timer = setTimeout(() => {
          waiters.splice(waiters.indexOf(w), 1);
          reject(new Error(`only ${seen.size} of ${count} results for tenant ${tenant} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiters.push(w);
      });
    },
    stop() {
      messages.stop();
    },
  };
}

/** Waits until the task-worker consumer has nothing pending and nothing unacknowledged. */
export async function waitForTaskQueueIdle(nc, timeoutMs) {
  const jsm = await nc.jetstreamManager();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const info = await jsm.consumers.info(Streams.tasks.name, Consumers.taskWorker.durable);
    if (info.num_pending === 0 && info.num_ack_pending === 0) return;
    if (Date.now() > deadline) {
      throw new Error(`task queue not idle after ${timeoutMs} ms: ${info.num_pending} pending, ${info.num_ack_pending} unacknowledged`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Removes the still-queued tasks of one tenant from KEELSON_TASKS. */
export async function purgeTenantTasks(nc, tenant) {
  const jsm = await nc.jetstreamManager();
  const res = await jsm.streams.purge(Streams.tasks.name, { filter: `keelson.tasks.${tenant}.>` });
  return res.purged;
}
