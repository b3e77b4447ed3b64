import {
  EventTypes,
  Headers,
  createEvent,
  type RunCompleted,
  type RunApprovalRequired,
  type RunDelta,
  type RunFailed,
  type RunOutcome,
  type RunRouted,
  type RunStarted,
  type RunToolCall,
  type RunToolResult,
  type SessionPolicyDecision,
  type ToolCall,
  type TaskError,
  type CloudEvent,
  type EventInit,
} from '@keelson/contracts';
import { injectTraceContext } from '@keelson/messaging';
import type { RoutedCall } from '../run/model-routing';
import type { ToolResult } from '../tools/tool';
import { runAuditDraft, type RunAuditContext } from './run-audit';

/** The slice of JetStreamPublisher the run log needs; unit tests pass a recording fake. */
export interface EventPublisher {
  publish(subject: string, payload: unknown, options?: { msgId?: string }): Promise<unknown>;
}

export interface RunLogInit {
  /** Where the events go: Subjects.sessionRun(...) or Subjects.taskRun(...). */
  subject: string;
  tenant: string;
  runId: string;
  /** The delivery that runs this attempt; it rises on every redelivery, so readers can drop a stale attempt. */
  attempt: number;
  agentId: string;
  /** CloudEvents `source`, e.g. `/keelson/session-agent`. */
  source: string;
  /** Where a resumed run's log continues (RunLog.position() when it paused); from the start when absent. */
  from?: RunLogPosition;
  /** Also record each event but the text deltas as an audit event (after the run-log publish). */
  audit?: RunAuditContext;
}

/** How far a run log got: the next delta seq and tool event numbers. */
export interface RunLogPosition {
  seq: number;
  toolCalls: number;
  toolResults: number;
}

/**
 * The run log of one attempt: run.started, run.delta... (with run.tool_call and run.tool_result among them
 * when the agent uses tools, and run.routed before each model call's deltas when its model is routed), then run.completed or run.failed, each a CloudEvent
 * published (PubAck awaited) on the run's subject, in order. Every event has a deterministic id (tenant, run,
 * attempt, kind, delta or tool event number), used as the CloudEvent id and as the Nats-Msg-Id: a publish retried after a lost PubAck
 * is dropped by JetStream instead of repeating text on every reader's screen.
 */
export class RunLog {
  private nextSeq: number;
  private nextToolCall: number;
  private nextToolResult: number;

  constructor(
    private readonly publisher: EventPublisher,
    readonly init: RunLogInit,
  ) {
    this.nextSeq = init.from?.seq ?? 0;
    this.nextToolCall = init.from?.toolCalls ?? 0;
    this.nextToolResult = init.from?.toolResults ?? 0;
  }

  position(): RunLogPosition {
    return { seq: this.nextSeq, toolCalls: this.nextToolCall, toolResults: this.nextToolResult };
  }

  /** The run paused at a call that needs a human's approval. */
  approvalRequired(call: ToolCall, approvalId: string, expiresAt: string): Promise<void> {
    const data: RunApprovalRequired = {
      runId: this.init.runId,
      attempt: this.init.attempt,
      approvalId,
      callId: call.id,
      name: call.name,
      arguments: call.arguments,
      expiresAt,
    };
    return this.emit(EventTypes.runApprovalRequired, `approval_required:${approvalId}`, data);
  }

  /** A session concurrency decision that concerns this run (see SessionPolicyDecisionSchema). */
  policy(decision: SessionPolicyDecision): Promise<void> {
    return this.emit(EventTypes.sessionPolicy, `policy:${decision.decision}`, decision);
  }

  started(): Promise<void> {
    const data: RunStarted = { runId: this.init.runId, attempt: this.init.attempt, agentId: this.init.agentId };
    return this.emit(EventTypes.runStarted, 'started', data);
  }

  delta(text: string): Promise<void> {
    const seq = this.nextSeq++;
    const data: RunDelta = { runId: this.init.runId, attempt: this.init.attempt, seq, text };
    return this.emit(EventTypes.runDelta, `delta:${seq}`, data);
  }

  /** A tool call, placed in the text by `seq`: the seq of the next delta. */
  toolCall(call: ToolCall): Promise<void> {
    const data: RunToolCall = { runId: this.init.runId, attempt: this.init.attempt, seq: this.nextSeq, callId: call.id, name: call.name, arguments: call.arguments };
    return this.emit(EventTypes.runToolCall, `tool_call:${this.nextToolCall++}`, data);
  }

  /** A tool call's result, as given back to the model. */
  toolResult(result: ToolResult): Promise<void> {
    const base = { runId: this.init.runId, attempt: this.init.attempt, callId: result.callId, name: result.name };
    const data: RunToolResult = result.ok ? { ...base, ok: true, content: result.content } : { ...base, ok: false, error: result.error };
    return this.emit(EventTypes.runToolResult, `tool_result:${this.nextToolResult++}`, data);
  }

  /** A routing decision of a routed agent's model call (run.routed), before the call's first delta. */
  routed(decision: RoutedCall): Promise<void> {
    const data: RunRouted = { runId: this.init.runId, attempt: this.init.attempt, ...decision };
    return this.emit(EventTypes.runRouted, `routed:${decision.callIndex}`, data);
  }

  completed(outcome: RunOutcome): Promise<void> {
    const data: RunCompleted = { runId: this.init.runId, attempt: this.init.attempt, outcome };
    return this.emit(EventTypes.runCompleted, 'completed', data);
  }

  failed(error: TaskError): Promise<void> {
    const data: RunFailed = { runId: this.init.runId, attempt: this.init.attempt, error };
    return this.emit(EventTypes.runFailed, 'failed', data);
  }

  private async emit(type: string, kind: string, data: unknown): Promise<void> {
    const { source, tenant, runId, subject, attempt } = this.init;
    // JetStream de-duplicates per stream, across tenants, and a NATS publisher may choose its own task ids:
    // the tenant in the id keeps one tenant's events from being dropped as another's duplicates.
    const id = `${tenant}:${runId}:${attempt}:${kind}`;
    const event = tracedEvent({ id, type, source, tenant, subject: runId, data });
    await this.publisher.publish(subject, event, { msgId: id });
    const audit = this.init.audit;
    if (!audit) return;
    const draft = runAuditDraft(audit, { tenant, runId, agentId: this.init.agentId, kind: `${attempt}:${kind}`, type, data: data as Record<string, unknown> });
    if (draft) await audit.sink.record(draft);
  }
}

/** createEvent, plus the trace context active where the event is built (CloudEvents Distributed Tracing). */
export function tracedEvent<T>(init: Omit<EventInit<T>, 'traceparent' | 'tracestate'>): CloudEvent<T> {
  const trace: Record<string, string> = {};
  injectTraceContext(trace);
  return createEvent({ ...init, traceparent: trace[Headers.traceparent], tracestate: trace[Headers.tracestate] });
}
