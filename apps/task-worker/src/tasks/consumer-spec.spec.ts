import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Consumers } from '@keelson/contracts';
import { loadTaskWorkerConfig } from '../config';
import { taskConsumerSpec } from './consumer-spec';

describe('taskConsumerSpec', () => {
  it('is the contract consumer when nothing is configured', () => {
    assert.deepEqual(taskConsumerSpec(loadTaskWorkerConfig({})), { ...Consumers.taskWorker, retryBackoffMs: [...Consumers.taskWorker.retryBackoffMs] });
  });

  it('takes max deliveries and backoff from TASK_MAX_DELIVER and TASK_RETRY_BACKOFF_MS', () => {
    const spec = taskConsumerSpec(loadTaskWorkerConfig({ TASK_MAX_DELIVER: '2', TASK_RETRY_BACKOFF_MS: '50,100' }));
    assert.equal(spec.maxDeliver, 2);
    assert.deepEqual(spec.retryBackoffMs, [50, 100]);
    assert.equal(spec.durable, Consumers.taskWorker.durable);
  });

  it('refuses a backoff that is not a list of whole numbers, naming the variable', () => {
    assert.throws(() => loadTaskWorkerConfig({ TASK_RETRY_BACKOFF_MS: '50;100' }), /TASK_RETRY_BACKOFF_MS/);
  });
});
