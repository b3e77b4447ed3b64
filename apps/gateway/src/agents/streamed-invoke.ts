import {
  BudgetExceededError,
  ErrorCodes,
  KeelsonError,
  RunEventNames,
  Subjects,
  type CloudEvent,
  type InvokeRpcRequest,
  type RunCompleted,
  type RunDelta,
  type RunFailed,
  type RunOutcome,
} from '@keelson/contracts';
import { decodeJson } from '@keelson/messaging';
import { randomUUID } from 'node:crypto';
import type { NatsConnection } from 'nats';
import { frameOf } from '../sessions/turn-relay';
import { sendInvoke } from './invoke-rpc';

export type InvokeStreamItem = { kind: 'started' } | { kind: 'delta'; text: string } | { kind: 'done'; outcome: RunOutcome };

export interface StreamedInvoke {
  runId: string;
  /** started, the text deltas in order, then done; a failure is thrown by the iterator. */
  items: AsyncIterable<InvokeStreamItem>;
  /** Stops listening and, unless it has finished, cancels the run on its replica. */
  cancel(): void;
}

type Queued = InvokeStreamItem | { kind: 'error'; error: unknown };

export const newInvokeRunId = (): string => `inv_${randomUUID().replace(/-/g, '')}`;

/**
 * The stateless path, streamed: subscribes to the run's subject, then sends the invoke RPC with that runId,
 * so no event can be missed between the two. The run ends with whichever comes first of run.completed /
 * run.failed and the RPC reply (the reply also carries the outcome, so a lost terminal event costs nothing,
 * and a timeout or a missing responder ends the stream as an error).
 */
export function streamInvoke(nats: NatsConnection, rpc: Omit<InvokeRpcRequest, 'runId'>, timeoutMs: number): StreamedInvoke {
  const runId = newInvokeRunId();
  const queue: Queued[] = [];
  let finished = false;
  let wake: (() => void) | undefined;
  let nextSeq = 0;
  const push = (item: Queued) => {
    if (finished) return;
    queue.push(item);
    if (item.kind === 'done' || item.kind === 'error') finished = true;
    wake?.();
  };

  const subscription = nats.subscribe(Subjects.invokeRun(rpc.tenant, runId), {
    callback: (err, message) => {
      if (err) return;
      const frame = frameOf(decodeJson(message.data) as CloudEvent);
      if (!frame) return;
      if (frame.name === RunEventNames.started) push({ kind: 'started' });
      else if (frame.name === RunEventNames.delta) {
        const delta = frame.event.data as RunDelta;
        // A publish retried after a lost PubAck reaches core subscribers twice; the seq drops the repeat.
        if (delta.seq < nextSeq) return;
        nextSeq = delta.seq + 1;
        push({ kind: 'delta', text: delta.text });
      } else if (frame.name === RunEventNames.completed) push({ kind: 'done', outcome: (frame.event.data as RunCompleted).outcome });
      else if (frame.name === RunEventNames.failed) {
        const { error } = frame.event.data as RunFailed;
        push({
          kind: 'error',
          error: error.budget ? new BudgetExceededError(error.budget, error.message) : new KeelsonError(502, ErrorCodes.agentFailed, error.message),
        });
      }
    },
  });

  // The run id doubles as the cancel id: cancel() stops the run on its replica, not only the listening.
  const stop = new AbortController();
  sendInvoke(nats, { ...rpc, runId, cancelId: runId }, timeoutMs, stop.signal).then(
    (outcome) => push({ kind: 'done', outcome }),
    (error: unknown) => push({ kind: 'error', error }),
  );

  async function* items(): AsyncGenerator<InvokeStreamItem> {
    try {
      for (;;) {
        while (queue.length > 0) {
          const item = queue.shift()!;
          if (item.kind === 'error') throw item.error;
          yield item;
          if (item.kind === 'done') return;
        }
        if (finished) return;
        await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
      }
    } finally {
      subscription.unsubscribe();
    }
  }

  return {
    runId,
    items: items(),
    cancel: () => {
      if (!finished) stop.abort();
      finished = true;
      subscription.unsubscribe();
      wake?.();
    },
  };
}
