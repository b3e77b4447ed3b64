import { EventTypes, type CloudEvent, type RunOutcome, type TaskError, type TaskResult } from '@keelson/contracts';
import { tracedEvent } from '@keelson/runtime';

export const TASK_WORKER_SOURCE = '/keelson/task-worker';

export type TaskEnd = { result: RunOutcome } | { error: TaskError };

/** The one final result of a task: the output and usage on success, the error on failure. */
export function buildTaskResult(taskId: string, agentId: string, attempts: number, end: TaskEnd): TaskResult {
  if ('result' in end) {
    return { taskId, agentId, status: 'succeeded', attempts, output: end.result.output, usage: end.result.usage };
  }
  return { taskId, agentId, status: 'failed', attempts, error: end.error };
}

/**
 * The id of a task's result, as CloudEvent id and Nats-Msg-Id. Deterministic, so when a crash between
 * publishing and acknowledging makes a task run twice, JetStream keeps only the first result. It names the
 * tenant because de-duplication spans the whole stream and NATS publishers choose their own task ids.
 */
export function resultId(tenant: string, taskId: string): string {
  return `result:${tenant}:${taskId}`;
}

export function resultEvent(tenant: string, result: TaskResult): CloudEvent<TaskResult> {
  return tracedEvent({
    id: resultId(tenant, result.taskId),
    type: result.status === 'succeeded' ? EventTypes.taskCompleted : EventTypes.taskFailed,
    source: TASK_WORKER_SOURCE,
    tenant,
    subject: result.taskId,
    data: result,
  });
}
