import { AuditTypes, EventTypes, type AuditActor } from '@keelson/contracts';
import type { AuditDraft, AuditSink } from '@keelson/audit';

/** Who a run acts for and what it belongs to, for the audit events its run log yields. */
export interface RunAuditContext {
  sink: AuditSink;
  actor?: AuditActor;
  sessionId?: string;
  taskId?: string;
}

interface RunEventFacts {
  tenant: string;
  runId: string;
  agentId: string;
  /** The run-log event id's tail (`started`, `tool_call:0`, ...): the audit id reuses it, so both de-duplicate alike. */
  kind: string;
  type: string;
  data: Record<string, unknown>;
}

/**
 * The audit event of a run-log event, or undefined for the ones audit leaves out (text deltas: the reply is
 * recorded whole with run.completed). Large texts (tool arguments and results, the reply) go as payloads.
 */
export function runAuditDraft(ctx: RunAuditContext, e: RunEventFacts): AuditDraft | undefined {
  const shaped = shape(e.type, e.data);
  if (!shaped) return undefined;
  return {
    id: `run:${e.runId}:${e.kind}`,
    tenant: e.tenant,
    type: shaped.type,
    runId: e.runId,
    agentId: e.agentId,
    ...(ctx.actor ? { actor: ctx.actor } : {}),
    ...(ctx.sessionId ? { sessionId: ctx.sessionId } : {}),
    ...(ctx.taskId ? { taskId: ctx.taskId } : {}),
    data: shaped.data,
    ...(shaped.payloads ? { payloads: shaped.payloads } : {}),
  };
}

type Shaped = Pick<AuditDraft, 'type'> & { data: Record<string, unknown>; payloads?: AuditDraft['payloads'] };

function shape(type: string, d: Record<string, unknown>): Shaped | undefined {
  const { runId: _runId, text: _text, content, arguments: args, outcome, ...rest } = d;
  switch (type) {
    case EventTypes.runStarted:
      return { type: AuditTypes.runStarted, data: rest };
    case EventTypes.runToolCall:
      return { type: AuditTypes.toolCall, data: rest, payloads: [{ kind: 'arguments', content: String(args ?? '') }] };
    case EventTypes.runToolResult:
      return { type: AuditTypes.toolResult, data: rest, ...(content === undefined ? {} : { payloads: [{ kind: 'tool_result', content: String(content) }] }) };
    case EventTypes.runApprovalRequired:
      return { type: AuditTypes.toolApprovalRequired, data: rest, payloads: [{ kind: 'arguments', content: String(args ?? '') }] };
    case EventTypes.runRouted:
      return { type: AuditTypes.policyRouting, data: rest };
    case EventTypes.sessionPolicy:
      return { type: AuditTypes.policyConcurrency, data: rest };
    case EventTypes.runCompleted: {
      const { output, ...summary } = outcome as Record<string, unknown>;
      return { type: AuditTypes.runCompleted, data: { ...rest, ...summary }, payloads: [{ kind: 'reply', content: String(output ?? '') }] };
    }
    case EventTypes.runFailed:
      return { type: AuditTypes.runFailed, data: rest };
    default:
      return undefined;
  }
}
