import {
  ErrorCodes,
  KeelsonError,
  Streams,
  Subjects,
  parseTaskSubject,
  newTaskId,
  taskIdForKey,
  taskMsgId,
  type CreateTaskRequest,
  type TaskAccepted,
  type TaskMessage,
} from '@keelson/contracts';
import type { JetStreamPublisher } from '@keelson/messaging';
import type { NatsConnection } from 'nats';
import type { TaskStore } from '@keelson/state';

/**
 * Accepts a task once JetStream has acknowledged it, and not before: a 202 means the task is durable.
 * The same idempotency key always maps to the same task id, so a retry (over HTTP or NATS) finds the
 * first task: JetStream drops the duplicate within its window, the task record catches it after.
 */
export class TaskIntake {
  constructor(
    private readonly nats: NatsConnection,
    private readonly publisher: JetStreamPublisher,
    private readonly tasks: TaskStore,
    private readonly options: { publishTimeoutMs: number },
  ) {}

  async accept(tenant: string, request: CreateTaskRequest, apiKeyId?: string): Promise<TaskAccepted> {
    const key = request.idempotencyKey;
    const taskId = key ? taskIdForKey(tenant, key) : newTaskId();
    if (key) {
      const existing = await this.tasks.get(tenant, taskId);
      if (existing) return { taskId, status: existing.status, duplicate: true };
    }
    // The same plain JSON a NATS publisher sends, so the worker has one format to read.
    const command: TaskMessage = {
      input: request.input,
      taskId,
      ...(apiKeyId ? { apiKeyId } : {}),
      ...(request.userId ? { userId: request.userId } : {}),
    };
    let ack: { seq: number; duplicate: boolean };
    try {
      ack = await this.publisher.publish(Subjects.task(tenant, request.agentId), command, {
        msgId: taskMsgId(tenant, key ?? taskId),
        timeoutMs: this.options.publishTimeoutMs,
      });
    } catch {
      // The NATS error's own text (server names, stream internals) stays in the log, not in the answer.
      throw new KeelsonError(503, ErrorCodes.unavailable, 'the task could not be queued: the message bus did not confirm it in time; retry with the same idempotency key');
    }
    const duplicate = ack.duplicate;
    if (duplicate && !(await this.tasks.get(tenant, taskId))) await this.assertOwnDuplicate(tenant, ack.seq);
    const status = await this.tasks.recordQueued(tenant, taskId, request.agentId).catch(() => 'queued' as const);
    return { taskId, status, duplicate };
  }

  /**
   * JetStream de-duplicates by Nats-Msg-Id across the whole stream, and any NATS publisher may set one. A
   * duplicate with no task record is either our own first copy, still queued, or another tenant's message
   * that took this id: then the caller must not be told its task exists.
   */
  private async assertOwnDuplicate(tenant: string, seq: number): Promise<void> {
    const jsm = await this.nats.jetstreamManager();
    const original = await jsm.streams.getMessage(Streams.tasks.name, { seq }).catch(() => undefined);
    if (original && parseTaskSubject(original.subject)?.tenant === tenant) return;
    throw new KeelsonError(
      409,
      ErrorCodes.idempotencyConflict,
      'this idempotency key was taken within the de-duplication window by a message that is not a task of yours; use another key',
      'idempotencyKey',
    );
  }
}
