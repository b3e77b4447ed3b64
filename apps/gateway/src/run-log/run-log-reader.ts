import { EventTypes, RunEventNames, Streams, type CloudEvent } from '@keelson/contracts';
import { decodeJson } from '@keelson/messaging';
import { DeliverPolicy, type NatsConnection } from 'nats';

export interface RunEventFrame {
  /** SSE event name: run.started, run.delta, run.tool_call, run.tool_result, run.approval_required, run.completed, run.failed, session.policy. */
  name: string;
  event: CloudEvent;
}

export interface LoggedFrame extends RunEventFrame {
  /** The event's sequence in the run log: the SSE id a client resumes from with Last-Event-ID. */
  seq: number;
  /** Events still in the log after this one when it was read; 0 means the reader has caught up. */
  pending: number;
}

/** Where a read starts: after a sequence a client last saw, from a point in time, or (neither) from the beginning. */
export interface RunLogStart {
  afterSeq?: number;
  since?: Date;
}

const namesByType: Record<string, string> = {
  [EventTypes.runStarted]: RunEventNames.started,
  [EventTypes.runDelta]: RunEventNames.delta,
  [EventTypes.runCompleted]: RunEventNames.completed,
  [EventTypes.runFailed]: RunEventNames.failed,
  [EventTypes.runToolCall]: RunEventNames.toolCall,
  [EventTypes.runToolResult]: RunEventNames.toolResult,
  [EventTypes.runApprovalRequired]: RunEventNames.approvalRequired,
  [EventTypes.runRouted]: RunEventNames.routed,
  [EventTypes.sessionPolicy]: RunEventNames.policy,
};

export const isTerminal = (name: string): boolean => name === RunEventNames.completed || name === RunEventNames.failed;

export function frameOf(event: CloudEvent): RunEventFrame | undefined {
  const name = namesByType[event.type];
  return name ? { name, event } : undefined;
}

function deliveryOf(start: RunLogStart): Record<string, unknown> {
  if (start.afterSeq !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.afterSeq + 1 };
  if (start.since !== undefined) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.since.toISOString() };
  // Left unset, an ordered consumer starts at the beginning (nats.js rejects an explicit DeliverPolicy.All).
  return {};
}

/**
 * Reads run events from the run log with an ordered consumer on one subject filter (one run, or every turn
 * of a session with a `>` wildcard): from the beginning, from a time, or after the sequence a reconnecting
 * client last saw; then follows new events until the signal aborts. Nothing is created on the server that
 * outlives the reader. The one reader behind task SSE, session SSE, turn relays and WebSocket resumes.
 */
export async function* readRunLog(
  nats: NatsConnection,
  subject: string,
  start: RunLogStart,
  signal: AbortSignal,
): AsyncGenerator<LoggedFrame> {
  if (signal.aborted) return;
  const consumer = await nats.jetstream().consumers.get(Streams.runs.name, {
    filterSubjects: subject, // a single subject: nats-server 2.9 has no filter_subjects
    ...deliveryOf(start),
  });
  const messages = await consumer.consume({ max_messages: 64 });
  const stop = () => messages.stop();
  signal.addEventListener('abort', stop, { once: true });
  if (signal.aborted) stop();
  try {
    for await (const message of messages) {
      const frame = frameOf(decodeJson(message.data) as CloudEvent);
      if (frame) yield { ...frame, seq: message.seq, pending: message.info.pending };
    }
  } finally {
    signal.removeEventListener('abort', stop);
    messages.stop();
  }
}
