import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RunFailedSchema, Subjects, TaskResultSchema, type TaskStatus } from '@keelson/contracts';
import { DeferError, PoisonMessageError, silentLogger } from '@keelson/messaging';
import { AgentRegistry, OfflineModel, ProviderRegistry, builtinAgents } from '@keelson/runtime';
import type { ClaimResult } from '@keelson/state';
import type { TaskView } from '@keelson/contracts';
import { RecordingPublisher } from '@keelson/runtime';
import { AttemptFailedError, TaskProcessor, type TaskDelivery } from './task-processor';
import { resultId, type TaskEnd } from './task-result';

class FakeTasks {
  readonly claims: { tenant: string; taskId: string; agentId: string; owner: string; leaseMs: number }[] = [];
  readonly finished: { taskId: string; end: TaskEnd }[] = [];
  constructor(private readonly next: ClaimResult) {}

  async claim(tenant: string, taskId: string, agentId: string, owner: string, leaseMs: number) {
    this.claims.push({ tenant, taskId, agentId, owner, leaseMs });
    return this.next;
  }

  async finish(_tenant: string, taskId: string, end: TaskEnd) {
    this.finished.push({ taskId, end });
  }

  view: TaskView | undefined;
  async get(): Promise<TaskView | undefined> {
    return this.view;
  }
}

function setup(claim: ClaimResult = { kind: 'ok', attempts: 1 }) {
  const tasks = new FakeTasks(claim);
  const publisher = new RecordingPublisher();
  const processor = new TaskProcessor({
    tasks,
    publisher,
    agents: new AgentRegistry(builtinAgents()),
    providers: new ProviderRegistry([new OfflineModel()]),
    consumer: { maxDeliver: 3, ackWaitMs: 30_000 },
    logger: silentLogger,
  });
  return { tasks, publisher, processor };
}

const delivery = (over: Partial<TaskDelivery> = {}): TaskDelivery => ({
  subject: Subjects.task('dev', 'assistant'),
  data: { input: 'summarise this', taskId: 'tsk_1' },
  stream: 'KEELSON_TASKS',
  streamSeq: 11,
  deliveryCount: 1,
  ...over,
});

const results = (publisher: RecordingPublisher) => publisher.published.filter((p) => p.subject.startsWith('keelson.results.'));

describe('TaskProcessor', () => {
  it('runs a claimed task: run log on the task run subject, ONE result, the record, then run.completed', async () => {
    const { tasks, publisher, processor } = setup();
    assert.equal(await processor.handle(delivery()), 'succeeded');

    const runEvents = publisher.published.filter((p) => p.subject === Subjects.taskRun('dev', 'tsk_1'));
    assert.equal(runEvents[0]!.event.type, 'dev.keelson.run.started.v1');
    assert.equal(runEvents.at(-1)!.event.type, 'dev.keelson.run.completed.v1');
    const [result] = results(publisher);
    assert.equal(results(publisher).length, 1);
    assert.equal(result!.subject, Subjects.result('dev', 'assistant', 'tsk_1'));
    assert.equal(result!.msgId, resultId('dev', 'tsk_1'));
    const order = publisher.published.map((p) => p.event.type);
    assert.ok(
      order.indexOf('dev.keelson.task.completed.v1') < order.indexOf('dev.keelson.run.completed.v1'),
      `the result is published before run.completed announces it, got ${order.join(', ')}`,
    );
    const data = TaskResultSchema.parse(result!.event.data);
    assert.equal(data.status, 'succeeded');
    assert.match(data.output!, /You said: "summarise this"/);
    assert.deepEqual(tasks.finished.map((f) => Object.keys(f.end)), [['result']]);
  });

  it('claims for the message (stream and sequence) with the ack wait as lease, tenant and agent from the subject', async () => {
    const { tasks, processor } = setup();
    await processor.handle(delivery({ data: { input: 'x', taskId: 'tsk_1', tenant: 'acme', agentId: 'evil' } }));
    assert.deepEqual(tasks.claims, [{ tenant: 'dev', taskId: 'tsk_1', agentId: 'assistant', owner: 'KEELSON_TASKS:11', leaseMs: 30_000 }]);
  });

  for (const status of ['succeeded', 'failed'] as TaskStatus[]) {
    it(`acknowledges a task already ${status} without running it or publishing anything`, async () => {
      const { tasks, publisher, processor } = setup({ kind: 'done', status });
      assert.equal(await processor.handle(delivery({ deliveryCount: 2 })), 'already-done');
      assert.deepEqual(publisher.published, []);
      assert.deepEqual(tasks.finished, []);
    });
  }

  it('defers a task another delivery is running', async () => {
    const { publisher, processor } = setup({ kind: 'busy' });
    await assert.rejects(processor.handle(delivery()), DeferError);
    assert.deepEqual(publisher.published, []);
  });

  it('on its last delivery, acknowledges a duplicate whose task another delivery still holds', async () => {
    const { publisher, processor } = setup({ kind: 'busy' });
    assert.equal(await processor.handle(delivery({ deliveryCount: 3 })), 'held-elsewhere');
    assert.deepEqual(publisher.published, []);
  });

  it('ends a task for an unknown agent at once: failed result agent_not_found, record finished', async () => {
    const { tasks, publisher, processor } = setup();
    assert.equal(await processor.handle(delivery({ subject: Subjects.task('dev', 'ghost') })), 'failed');
    assert.equal(RunFailedSchema.parse(publisher.published[0]!.event.data).error.code, 'agent_not_found');
    const data = TaskResultSchema.parse(results(publisher)[0]!.event.data);
    assert.equal(data.status, 'failed');
    assert.equal(data.error?.code, 'agent_not_found');
    assert.equal(results(publisher)[0]!.subject, Subjects.result('dev', 'ghost', 'tsk_1'));
    assert.equal(tasks.finished.length, 1);
  });

  it('throws an agent failure before the last delivery, with no result, so the runner retries with backoff', async () => {
    const { tasks, publisher, processor } = setup();
    await assert.rejects(processor.handle(delivery({ data: { input: '__fail__', taskId: 'tsk_1' }, deliveryCount: 2 })), AttemptFailedError);
    assert.deepEqual(results(publisher), []);
    assert.deepEqual(tasks.finished, []);
    assert.equal(publisher.types().at(-1), 'run.failed', 'the attempt is logged as failed');
  });

  it('on the last delivery publishes the failed result, finishes the record, and still throws (dead letter)', async () => {
    const { tasks, publisher, processor } = setup({ kind: 'ok', attempts: 3 });
    await assert.rejects(
      processor.handle(delivery({ data: { input: '__fail__', taskId: 'tsk_1' }, deliveryCount: 3 })),
      (err) => err instanceof Error && !(err instanceof AttemptFailedError) && /last attempt \(3 of 3\)/.test(err.message),
    );
    const data = TaskResultSchema.parse(results(publisher)[0]!.event.data);
    assert.deepEqual([data.status, data.attempts, data.error?.code], ['failed', 3, 'agent_failed']);
    assert.deepEqual(tasks.finished.map((f) => Object.keys(f.end)), [['error']]);
  });

  it('refuses an invalid body as poison naming the field, before touching the store', async () => {
    const { tasks, processor } = setup();
    await assert.rejects(
      processor.handle(delivery({ data: { prompt: 'hi' } })),
      (err) => err instanceof PoisonMessageError && /^invalid task: input: /.test(err.reason),
    );
    assert.deepEqual(tasks.claims, []);
  });

  it('refuses a subject with a malformed tenant as poison', async () => {
    const { processor } = setup();
    await assert.rejects(processor.handle(delivery({ subject: 'keelson.tasks.Dev!.assistant' })), PoisonMessageError);
  });
});

describe('TaskProcessor.giveUp: the last attempt died with its process', () => {
  const view = (status: TaskStatus): TaskView => ({
    taskId: 'tsk_1',
    agentId: 'assistant',
    status,
    attempts: 3,
    createdAt: '2026-01-01T00:00:00Z',
    updatedAt: '2026-01-01T00:00:00Z',
  });

  it('ends a task left running with one failed result, attempts_exhausted, and run.failed', async () => {
    const { tasks, publisher, processor } = setup();
    tasks.view = view('running');
    assert.equal(await processor.giveUp(delivery({ deliveryCount: 4 })), 'failed');
    const [result] = results(publisher);
    const data = TaskResultSchema.parse(result!.event.data);
    assert.equal(data.status, 'failed');
    assert.equal(data.error?.code, 'attempts_exhausted');
    assert.equal(data.attempts, 3);
    assert.deepEqual(tasks.finished.map((f) => f.taskId), ['tsk_1']);
    assert.equal(publisher.types().at(-1), 'run.failed');
  });

  it('leaves a task that did finish alone: no second result', async () => {
    for (const status of ['succeeded', 'failed'] as TaskStatus[]) {
      const { tasks, publisher, processor } = setup();
      tasks.view = view(status);
      assert.equal(await processor.giveUp(delivery({ deliveryCount: 4 })), 'already-done');
      assert.deepEqual(publisher.published, []);
    }
  });
});
