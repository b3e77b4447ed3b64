import { BudgetExceededError, ErrorCodes, KeelsonError, Subjects, type ErrorCode, type InvokeRpcReply, type InvokeRpcRequest, type RunOutcome } from '@keelson/contracts';
import { NoRespondersError, RequestTimeoutError, request } from '@keelson/messaging';
import type { NatsConnection } from 'nats';
import { randomUUID } from 'node:crypto';

/** A fresh `cancelId` for an invoke (InvokeRpcRequest). */
export const newCancelId = (): string => `cnl_${randomUUID().replace(/-/g, '')}`;

/**
 * Sends the invoke RPC to whichever agent replica answers first and returns the outcome; every failure is
 * a KeelsonError (503 nobody answering, 504 timeout, or the responder's own error reply). When `signal`
 * aborts first (the client went away), the run is cancelled on its replica through its `cancelId`.
 */
export async function sendInvoke(nats: NatsConnection, rpc: InvokeRpcRequest, timeoutMs: number, signal?: AbortSignal): Promise<RunOutcome> {
  let reply: InvokeRpcReply;
  const cancel = () => {
    if (rpc.cancelId) nats.publish(Subjects.invokeCancel(rpc.tenant, rpc.cancelId));
  };
  signal?.addEventListener('abort', cancel, { once: true });
  try {
    reply = await request<InvokeRpcReply>(nats, Subjects.invokeRpc, rpc, { timeoutMs });
  } catch (err) {
    if (err instanceof NoRespondersError) {
      throw new KeelsonError(503, ErrorCodes.unavailable, 'no agent runtime is running; try again shortly');
    }
    if (err instanceof RequestTimeoutError) {
      throw new KeelsonError(504, ErrorCodes.timeout, `the agent did not answer within ${timeoutMs} ms`);
    }
    throw err;
  } finally {
    signal?.removeEventListener('abort', cancel);
  }
  if (!reply.ok && reply.budget) throw new BudgetExceededError(reply.budget, reply.message);
  if (!reply.ok) throw replyError(reply);
  return reply.outcome;
}

/** A KeelsonError that also says when to retry (the HTTP Retry-After header; see toErrorResponse). */
export class RetryLaterError extends KeelsonError {
  constructor(status: number, code: ErrorCode, message: string, readonly retryAfterSeconds: number) {
    super(status, code, message);
  }
}

/** The responder's error reply as the error the HTTP layer answers with; an overloaded one keeps its Retry-After. */
function replyError(reply: Extract<InvokeRpcReply, { ok: false }>): KeelsonError {
  if (reply.retryAfterSeconds !== undefined) return new RetryLaterError(reply.status, reply.code as ErrorCode, reply.message, reply.retryAfterSeconds);
  return new KeelsonError(reply.status, reply.code as ErrorCode, reply.message, reply.field);
}
