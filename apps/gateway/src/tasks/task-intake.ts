import {
  ErrorCodes,
  KeelsonError,
  Subjects,
  newTaskId,
  taskIdForKey,
  taskMsgId,
  type CreateTaskRequest,
  type TaskAccepted,
  type TaskMessage,
} from '@keelson/contracts';
import type { JetStreamPublisher } from '@keelson/messaging';
import type { TaskStore } from '@keelson/state';

/**
 * Accepts a task once JetStream has acknowledged it, and not before: a 202 means the task is durable.
 * The same idempotency key always maps to the same task id, so a retry (over HTTP or NATS) finds the
 * first task: JetStream drops the duplicate within its window, the task record catches it after.
 */
export class TaskIntake {
  constructor(
    private readonly publisher: JetStreamPublisher,
    private readonly tasks: TaskStore,
    private readonly options: { publishTimeoutMs: number },
  ) {}

  async accept(tenant: string, request: CreateTaskRequest): Promise<TaskAccepted> {
    const key = request.idempotencyKey;
    const taskId = key ? taskIdForKey(tenant, key) : newTaskId();
    if (key) {
      const existing = await this.tasks.get(tenant, taskId);
      if (existing) return { taskId, status: existing.status, duplicate: true };
    }
    // The same plain JSON a NATS publisher sends, so the worker has one format to read.
    const command: TaskMessage = { input: request.input, taskId };
    let duplicate: boolean;
    try {
      const ack = await this.publisher.publish(Subjects.task(tenant, request.agentId), command, {
        msgId: taskMsgId(tenant, key ?? taskId),
        timeoutMs: this.options.publishTimeoutMs,
      });
      duplicate = ack.duplicate;
    } catch (err) {
      throw new KeelsonError(503, ErrorCodes.unavailable, `the task could not be queued: ${(err as Error).message}`);
    }
    const status = await this.tasks.recordQueued(tenant, taskId, request.agentId).catch(() => 'queued' as const);
    return { taskId, status, duplicate };
  }
}
