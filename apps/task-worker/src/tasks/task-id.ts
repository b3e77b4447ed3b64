import { ErrorCodes, parseTaskMsgId, taskIdForKey } from '@keelson/contracts';
import { PoisonMessageError } from '@keelson/messaging';

export interface TaskIdSources {
  /** From the subject, never from the body. */
  tenant: string;
  /** `taskId` of the body, already validated. */
  bodyTaskId?: string;
  /** The Nats-Msg-Id header: the publisher's idempotency key. */
  msgId?: string;
  streamSeq: number;
}

/**
 * The id of the task a message carries, in order of precedence:
 *  1. the body's `taskId` (the gateway always sets it);
 *  2. derived from the Nats-Msg-Id, `{tenant}:{key}` or a bare key, exactly as the gateway derives it from an
 *     idempotency key, so the same key over HTTP and over NATS is the same task;
 *  3. the stream sequence, which is unique within the task stream.
 * A Nats-Msg-Id prefixed with another tenant is refused: JetStream de-duplicates across the whole stream,
 * so honouring it would let one tenant's key collide with (and silently drop) another tenant's task.
 */
export function resolveTaskId(sources: TaskIdSources): string {
  if (sources.bodyTaskId !== undefined) return sources.bodyTaskId;
  if (sources.msgId !== undefined && sources.msgId !== '') {
    const scoped = parseTaskMsgId(sources.msgId);
    if (scoped && scoped.tenant !== sources.tenant) {
      throw new PoisonMessageError(
        `Nats-Msg-Id names another tenant ("${scoped.tenant}", published by "${sources.tenant}"); use "${sources.tenant}:<key>"`,
        ErrorCodes.validationFailed,
      );
    }
    return taskIdForKey(sources.tenant, scoped ? scoped.key : sources.msgId);
  }
  return `tsk_seq${sources.streamSeq}`;
}
