import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import {
  CloudEventSchema,
  Consumers,
  Headers,
  Streams,
  Subjects,
  TaskResultSchema,
  taskIdForKey,
  type TaskResult,
} from '@keelson/contracts';
import { DEAD_LETTER_ORIGINAL_MSG_ID, decodeJson, encodeJson, type PublishAck } from '@keelson/messaging';
import { TaskStore } from '@keelson/state';
import {
  freePort,
  startApp,
  startNats,
  startRedis,
  waitFor,
  type AppHandle,
  type NatsServerHandle,
  type RedisServerHandle,
} from '@keelson/testing';
import { connect, type JetStreamManager, type NatsConnection } from 'nats';
import { createClient } from 'redis';

interface StoredMessage {
  subject: string;
  headers: Record<string, string>;
  data: unknown;
}

/** Every message a stream holds, oldest first (the tests keep streams small). */
async function readStream(jsm: JetStreamManager, stream: string): Promise<StoredMessage[]> {
  const { state } = await jsm.streams.info(stream);
  const out: StoredMessage[] = [];
  for (let seq = state.first_seq; state.messages > 0 && seq <= state.last_seq; seq++) {
    const msg = await jsm.streams.getMessage(stream, { seq }).catch(() => undefined);
    if (!msg) continue;
    const headers: Record<string, string> = {};
    for (const key of msg.header?.keys() ?? []) headers[key] = msg.header.get(key);
    out.push({ subject: msg.subject, headers, data: decodeJson(msg.data) });
  }
  return out;
}

/**
 * The task-worker as its own process against real NATS and Redis, fed straight over NATS as a tenant's own
 * publisher would. The worker runs with TASK_MAX_DELIVER=2 and short backoffs, so failures end quickly.
 */
describe('task-worker over NATS', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let redisClient: ReturnType<typeof createClient>;
  let store: TaskStore;
  let nc: NatsConnection;
  let jsm: JetStreamManager;
  const workers: AppHandle[] = [];

  const startWorker = async () => {
    const port = await freePort();
    const worker = await startApp({
      name: 'task-worker',
      env: {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        HEALTH_PORT: String(port),
        LOG_LEVEL: 'debug',
        TASK_MAX_DELIVER: '2',
        TASK_RETRY_BACKOFF_MS: '50,100',
        WORKER_CONCURRENCY: '4',
      },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    workers.push(worker);
    return worker;
  };

  const publishTask = (agentId: string, body: unknown, msgId?: string): Promise<PublishAck> =>
    nc
      .jetstream()
      .publish(Subjects.task('dev', agentId), encodeJson(body), msgId === undefined ? {} : { msgID: msgId })
      .then((ack) => ({ stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate }));

  /** How many results the results stream holds per subject. */
  const resultCounts = async (): Promise<Record<string, number>> => {
    const info = await jsm.streams.info(Streams.results.name, { subjects_filter: '>' });
    return (info.state.subjects ?? {}) as Record<string, number>;
  };

  const resultsOf = async (taskId: string): Promise<TaskResult[]> =>
    (await readStream(jsm, Streams.results.name))
      .filter((m) => m.subject.endsWith(`.${taskId}`))
      .map((m) => TaskResultSchema.parse(CloudEventSchema.parse(m.data).data));

  /** Waits until the consumer has nothing left to deliver or to settle. */
  const drained = () =>
    waitFor(
      async () => {
        const info = await jsm.consumers.info(Streams.tasks.name, Consumers.taskWorker.durable);
        return info.num_pending === 0 && info.num_ack_pending === 0;
      },
      { description: 'the task consumer to have no pending or unacknowledged messages', timeoutMs: 20_000 },
    );

  const deadLetter = (originalMsgId: string) =>
    waitFor(
      async () => (await readStream(jsm, Streams.deadLetters.name)).find((m) => m.headers[DEAD_LETTER_ORIGINAL_MSG_ID] === originalMsgId),
      { description: `a dead letter for Nats-Msg-Id ${originalMsgId}`, timeoutMs: 20_000 },
    );

  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    store = new TaskStore(redisClient, { ttlSeconds: 600 });
    await startWorker();
    nc = await connect({ servers: nats.url });
    jsm = await nc.jetstreamManager();
  });

  after(async () => {
    await nc?.close();
    await Promise.all(workers.map((w) => w.stop()));
    await redisClient?.close();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it('runs a task published straight onto NATS: one result on the results subject, a GET-able record', async () => {
    await publishTask('assistant', { input: 'hello worker' }, 'dev:direct-1');
    const taskId = taskIdForKey('dev', 'direct-1');

    const view = await waitFor(async () => {
      const v = await store.get('dev', taskId);
      return v?.status === 'succeeded' && v;
    }, { description: `task ${taskId} to succeed`, timeoutMs: 20_000 });
    assert.match(view.result?.output ?? '', /You said: "hello worker"/);

    const [result, ...more] = await resultsOf(taskId);
    assert.equal(more.length, 0, 'exactly one result');
    assert.deepEqual([result!.status, result!.agentId, result!.attempts], ['succeeded', 'assistant', 1]);
    assert.equal((await resultCounts())[Subjects.result('dev', 'assistant', taskId)], 1);
  });

  it('gives a task published twice (same Nats-Msg-Id, then same taskId under another id) one result', async () => {
    const taskId = taskIdForKey('dev', 'twice-1');
    const first = await publishTask('assistant', { input: 'once please' }, 'dev:twice-1');
    const again = await publishTask('assistant', { input: 'once please' }, 'dev:twice-1');
    assert.equal(again.duplicate, true, 'JetStream drops the second publish');
    assert.equal(again.seq, first.seq);
    await waitFor(async () => (await store.get('dev', taskId))?.status === 'succeeded', { description: 'the task to succeed' });
    // A second message for the same task, past JetStream's de-duplication: the task record catches it.
    await publishTask('assistant', { input: 'once please', taskId }, 'dev:twice-1-resent');
    await drained();
    assert.equal((await resultsOf(taskId)).length, 1);
  });

  it('dead-letters an invalid body with the reason and publishes no result, and refuses another tenant’s Nats-Msg-Id', async () => {
    await publishTask('assistant', { prompt: 'wrong field' }, 'dev:bad-1');
    await publishTask('assistant', { input: 'sneaky' }, 'acme:bad-2');

    const invalid = await deadLetter('dev:bad-1');
    assert.match(invalid.headers[Headers.deadLetterReason] ?? '', /invalid task: input: /);
    assert.equal(invalid.headers[Headers.deadLetterSubject], Subjects.task('dev', 'assistant'));
    assert.equal(invalid.headers[Headers.deliveries], '1', 'not retried');
    const foreign = await deadLetter('acme:bad-2');
    assert.match(foreign.headers[Headers.deadLetterReason] ?? '', /Nats-Msg-Id names another tenant/);

    await drained();
    assert.deepEqual(await resultsOf(taskIdForKey('dev', 'bad-1')), []);
    assert.equal(await store.get('dev', taskIdForKey('dev', 'bad-1')), undefined, 'no half-written task record');
  });

  it('retries a failing agent, then publishes one failed result and dead-letters the task after the last attempt', async () => {
    const taskId = taskIdForKey('dev', 'fail-1');
    await publishTask('assistant', { input: '__fail__' }, 'dev:fail-1');

    const dead = await deadLetter('dev:fail-1');
    assert.match(dead.headers[Headers.deadLetterReason] ?? '', /max_deliver reached: .*last attempt \(2 of 2\)/);
    assert.equal(dead.headers[Headers.deliveries], '2');
    await drained();

    const results = await resultsOf(taskId);
    assert.equal(results.length, 1, 'one result for the task, after its last attempt');
    assert.deepEqual([results[0]!.status, results[0]!.attempts, results[0]!.error?.code], ['failed', 2, 'agent_failed']);
    const view = await store.get('dev', taskId);
    assert.deepEqual([view?.status, view?.error?.code], ['failed', 'agent_failed']);
  });

  it('ends a task for an unknown agent with a failed result, without retrying it', async () => {
    const taskId = taskIdForKey('dev', 'ghost-1');
    await publishTask('ghost', { input: 'anyone?' }, 'dev:ghost-1');
    const result = await waitFor(async () => (await resultsOf(taskId))[0], { description: 'the result of a task for an unknown agent' });
    assert.deepEqual([result.status, result.attempts, result.error?.code], ['failed', 1, 'agent_not_found']);
  });

  it('shares 50 tasks between two worker processes, each task completed exactly once', async () => {
    const second = await startWorker();
    const ids = Array.from({ length: 50 }, (_, i) => `dev:batch-${i}`);
    // Slow enough that neither worker can take the whole batch before the other asks for work.
    await Promise.all(ids.map((id) => publishTask('assistant', { input: '__slow:100__' }, id)));
    await drained();

    const counts = await resultCounts();
    const taskIds = ids.map((id) => taskIdForKey('dev', id.slice('dev:'.length)));
    const missingOrDoubled = taskIds.filter((taskId) => counts[Subjects.result('dev', 'assistant', taskId)] !== 1);
    assert.deepEqual(missingOrDoubled, [], 'every task has exactly one result');
    for (const taskId of taskIds) assert.equal((await store.get('dev', taskId))?.status, 'succeeded');

    const settledBy = (worker: AppHandle) =>
      worker.logs().filter((line) => line.includes('"settlement":"succeeded"') && taskIds.some((id) => line.includes(id))).length;
    const [a, b] = [settledBy(workers[0]!), settledBy(second)];
    assert.ok(a > 0 && b > 0, `both workers took tasks (first ${a}, second ${b})`);
    assert.equal(a + b, 50, 'no task was settled twice');
  });
});

/** The last allowed attempt dies with its process: the task must still end, with one result saying why. */
describe('task-worker when the last attempt dies with its replica', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let nc: NatsConnection;
  const workers: AppHandle[] = [];

  const startWorker = async () => {
    const port = await freePort();
    const worker = await startApp({
      name: 'task-worker',
      // One delivery allowed, and a dead worker noticed after 2 s instead of 30.
      env: { NATS_URL: nats.url, REDIS_URL: redis.url, HEALTH_PORT: String(port), TASK_MAX_DELIVER: '1', TASK_ACK_WAIT_MS: '2000' },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    workers.push(worker);
    return worker;
  };

  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    nc = await connect({ servers: nats.url });
  });
  after(async () => {
    await nc?.close();
    await Promise.all(workers.map((w) => w.stop().catch(() => undefined)));
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it('publishes a failed result (attempts_exhausted) and dead-letters the task', async (t) => {
    // nats-server 2.9 (the only one installable here) sometimes keeps the redelivery it sent to the killed
    // worker's pull request pending without ever redelivering it again, so the task gets no result. Seen in
    // about half the runs; production pins a current NATS (docs/operations.md, known limitations).
    const [major, minor] = nc.info!.version.split('.').map(Number);
    if (major! < 2 || (major === 2 && minor! < 10)) {
      t.skip(`nats-server ${nc.info!.version} can lose the redelivery to a crashed worker's pull request; needs >= 2.10`);
      return;
    }
    const first = await startWorker();
    const jsm = await nc.jetstreamManager();
    await nc.jetstream().publish(Subjects.task('dev', 'assistant'), encodeJson({ input: '__slow:60000__', taskId: 'tsk_orphan' }));
    await waitFor(
      async () => ((await jsm.streams.info(Streams.runs.name)).state.messages > 0 ? true : undefined),
      { description: 'the first attempt to start', timeoutMs: 20_000 },
    );
    await first.kill('SIGKILL');
    await startWorker();
    const result = await waitFor(
      async () => {
        const stored = await readStream(jsm, Streams.results.name);
        return stored.length ? TaskResultSchema.parse(CloudEventSchema.parse(stored[0]!.data).data) : undefined;
      },
      { description: 'the failed result of the orphaned task', timeoutMs: 30_000 },
    );
    assert.equal(result.taskId, 'tsk_orphan');
    assert.equal(result.status, 'failed');
    assert.equal(result.error?.code, 'attempts_exhausted');
    const dead = await waitFor(async () => (await readStream(jsm, Streams.deadLetters.name))[0], {
      description: 'the dead letter of the orphaned task',
      timeoutMs: 20_000,
    });
    assert.match(dead.headers[Headers.deadLetterReason] ?? '', /max_deliver reached/);
    assert.equal((await readStream(jsm, Streams.results.name)).length, 1, 'one result, no more');
  });
});
