import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ErrorCodes, KeelsonError, RunCompletedSchema, RunFailedSchema, Subjects, TaskResultSchema } from '@keelson/contracts';
import { silentLogger } from '@keelson/messaging';
import { AgentRegistry, OfflineModel, ProviderRegistry, RecordingPublisher, builtinAgents, type RolloutPort, type VersionChoice } from '@keelson/runtime';
import type { ClaimResult } from '@keelson/state';
import { TaskProcessor, type TaskDelivery } from './task-processor';

/** Tasks as they come off the stream (published by the gateway or straight onto NATS), under kill switches and rollouts. */
function setup(rollouts: RolloutPort) {
  const finished: { taskId: string; end: unknown }[] = [];
  const claim: ClaimResult = { kind: 'ok', attempts: 1 };
  const tasks = {
    claim: async () => claim,
    finish: async (_tenant: string, taskId: string, end: unknown) => void finished.push({ taskId, end }),
    get: async () => undefined,
  };
  const agents = new AgentRegistry(builtinAgents());
  const v2 = { ...builtinAgents()[0]!, version: 'canary-2', systemPrompt: 'the canary' };
  agents.addVersion(v2);
  const publisher = new RecordingPublisher();
  const processor = new TaskProcessor({
    tasks,
    publisher,
    agents,
    rollouts,
    providers: new ProviderRegistry([new OfflineModel()]),
    consumer: { maxDeliver: 3, ackWaitMs: 30_000 },
    logger: silentLogger,
  });
  return { processor, publisher, finished };
}

const delivery = (taskId: string, deliveryCount = 1): TaskDelivery => ({
  subject: Subjects.task('dev', 'assistant'),
  data: { input: 'hello', taskId },
  stream: 'KEELSON_TASKS',
  streamSeq: 7,
  deliveryCount,
});

const results = (publisher: RecordingPublisher) => publisher.published.filter((p) => p.subject.startsWith('keelson.results.')).map((p) => TaskResultSchema.parse(p.event.data));

describe('TaskProcessor under kill switches and rollouts', () => {
  for (const code of [ErrorCodes.agentDisabled, ErrorCodes.tenantSuspended]) {
    it(`ends a queued task failed with ${code} instead of running it, without a retry`, async () => {
      const recorded: unknown[] = [];
      const { processor, publisher, finished } = setup({
        refusal: () => new KeelsonError(503, code, `switched off: incident 7`),
        choose: () => undefined,
        record: async (...args) => void recorded.push(args),
      });
      assert.equal(await processor.handle(delivery('tsk_k1')), 'failed');
      const [result] = results(publisher);
      assert.equal(result?.status, 'failed');
      assert.equal(result?.error?.code, code);
      assert.match(result?.error?.message ?? '', /incident 7/);
      const failed = publisher.published.find((p) => p.event.type === 'dev.keelson.run.failed.v1');
      assert.equal(RunFailedSchema.parse(failed!.event.data).error.code, code);
      assert.ok(!publisher.published.some((p) => p.event.type === 'dev.keelson.run.started.v1'), 'the agent never ran');
      assert.equal(finished.length, 1);
      assert.deepEqual(recorded, [], 'a refusal is no outcome of any version');
    });
  }

  it('runs the version the rollout chooses by task id and counts the run for it', async () => {
    const recorded: [string, VersionChoice, boolean, number][] = [];
    const keys: string[] = [];
    const { processor, publisher } = setup({
      refusal: () => undefined,
      choose: (_agent, _tenant, runKey) => {
        keys.push(runKey);
        return { version: 'canary-2', arm: 'canary', generation: 'gen_1' };
      },
      record: async (agentId, choice, ok, cost) => void recorded.push([agentId, choice, ok, cost]),
    });
    assert.equal(await processor.handle(delivery('tsk_v1')), 'succeeded');
    assert.deepEqual(keys, ['tsk_v1'], 'the task id chooses, so a redelivery chooses the same');
    assert.deepEqual(recorded, [['assistant', { version: 'canary-2', arm: 'canary', generation: 'gen_1' }, true, 0]]);
    const completed = publisher.published.find((p) => p.event.type === 'dev.keelson.run.completed.v1');
    assert.ok(RunCompletedSchema.parse(completed!.event.data));
  });

  it('counts a failed attempt as a failure of its version', async () => {
    const recorded: boolean[] = [];
    const { processor } = setup({
      refusal: () => undefined,
      choose: () => ({ version: 'canary-2', arm: 'canary', generation: 'g' }),
      record: async (_a, _c, ok) => void recorded.push(ok),
    });
    const failing: TaskDelivery = { ...delivery('tsk_f1'), data: { input: '__fail__', taskId: 'tsk_f1' } };
    await assert.rejects(processor.handle(failing));
    assert.deepEqual(recorded, [false]);
  });
});
