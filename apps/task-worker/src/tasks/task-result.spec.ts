import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { CloudEventSchema, EventTypes, TaskResultSchema, type RunOutcome } from '@keelson/contracts';
import { buildTaskResult, resultEvent, resultId } from './task-result';

const outcome: RunOutcome = {
  agentId: 'assistant',
  model: 'offline-echo',
  output: 'done',
  finishReason: 'stop',
  usage: { inputTokens: 3, outputTokens: 1, totalTokens: 4 },
};

describe('task results', () => {
  it('a succeeded result carries the output and usage, no error', () => {
    const result = buildTaskResult('tsk_1', 'assistant', 1, { result: outcome });
    assert.deepEqual(TaskResultSchema.parse(result), {
      taskId: 'tsk_1',
      agentId: 'assistant',
      status: 'succeeded',
      attempts: 1,
      output: 'done',
      usage: outcome.usage,
    });
  });

  it('a failed result carries the error, no output', () => {
    const result = buildTaskResult('tsk_1', 'assistant', 3, { error: { code: 'agent_failed', message: 'boom' } });
    assert.deepEqual(TaskResultSchema.parse(result), {
      taskId: 'tsk_1',
      agentId: 'assistant',
      status: 'failed',
      attempts: 3,
      error: { code: 'agent_failed', message: 'boom' },
    });
  });

  it('is published as a CloudEvent typed by status, with the tenant and a deterministic id', () => {
    const ok = resultEvent('dev', buildTaskResult('tsk_1', 'assistant', 1, { result: outcome }));
    const failed = resultEvent('dev', buildTaskResult('tsk_1', 'assistant', 1, { error: { code: 'x', message: 'y' } }));
    assert.ok(CloudEventSchema.safeParse(ok).success);
    assert.equal(ok.type, EventTypes.taskCompleted);
    assert.equal(failed.type, EventTypes.taskFailed);
    assert.equal(ok.tenantid, 'dev');
    assert.equal(ok.subject, 'tsk_1');
    assert.equal(ok.id, resultId('dev', 'tsk_1'));
    assert.equal(ok.id, failed.id, 'one id per task, whatever the outcome: JetStream keeps only the first');
  });

  it('names the tenant in the result id, so equal task ids of two tenants are not taken for duplicates', () => {
    assert.notEqual(resultId('dev', 'tsk_1'), resultId('acme', 'tsk_1'));
  });
});
