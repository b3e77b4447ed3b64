import { setTimeout as sleep } from 'node:timers/promises';
import { EventTypes, RunEventNames, Streams, type CloudEvent } from '@keelson/contracts';
import { decodeJson, type MessagingLogger } from '@keelson/messaging';
import {
  AckPolicy,
  ConsumerEvents,
  DeliverPolicy,
  Events,
  nanos,
  nuid,
  type ConsumerConfig,
  type ConsumerMessages,
  type NatsConnection,
  type Status,
} from 'nats';

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

function deliveryOf(start: RunLogStart): Partial<ConsumerConfig> {
  if (start.afterSeq !== undefined) return { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start.afterSeq + 1 };
  if (start.since !== undefined) return { deliver_policy: DeliverPolicy.StartTime, opt_start_time: start.since.toISOString() };
  return { deliver_policy: DeliverPolicy.All };
}

/**
 * How long a pull waits on the server. It also sets the idle heartbeat (half of it), so it bounds how soon
 * a consumer whose node died is noticed: two missed heartbeats, 5 s.
 */
const PULL_EXPIRES_MS = 5_000;
/** One JetStream API call while opening a read; a consumer placed on a dead node never answers. */
const OPEN_TIMEOUT_MS = 5_000;
/** Between attempts to open while JetStream cannot answer (an election, a node restarting). */
const RETRY_PAUSE_MS = 500;
/** Failed opens in a row (each up to OPEN_TIMEOUT_MS) between two warnings. */
const WARN_EVERY_FAILED_OPENS = 3;
/** A consumer left behind (its delete did not reach the server) goes after this long without a pull. */
const INACTIVE_THRESHOLD_MS = 60_000;

/**
 * Reads run events from the run log on one subject filter (one run, or every turn of a session with a `>`
 * wildcard): from the beginning, from a time, or after the sequence a reconnecting client last saw; then
 * follows new events until the signal aborts. The one reader behind task SSE, session SSE, turn relays and
 * WebSocket resumes.
 *
 * It does what a nats.js ordered consumer does (an ephemeral, unacknowledged, in-memory consumer of one
 * replica, opened again from the last sequence read whenever it may have lost its place), by hand, because
 * the ordered consumer does not survive a NATS node's loss: nats-server 2.9 keeps placing new one-replica
 * consumers on a dead peer for a while (a third of creations time out, measured on a three-node cluster),
 * and nats.js retries a create with the same name, so the same dead placement, every 30 s; and once a
 * running consumer's node dies it retries that consumer's info forever. Here every attempt gets a new name
 * and a deadline, and two missed idle heartbeats, a reconnect, or a gap in the delivery sequence end the
 * consumer and open a new one after the last event given. Every wait also ends when the caller aborts.
 */
export async function* readRunLog(
  nats: NatsConnection,
  subject: string,
  start: RunLogStart,
  signal: AbortSignal,
  logger?: Pick<MessagingLogger, 'warn'>,
): AsyncGenerator<LoggedFrame> {
  let from = start;
  let failedOpens = 0;
  while (!signal.aborted) {
    const opened = await openConsumer(nats, subject, from, signal);
    if (opened === 'retry') {
      // A reader that cannot open for a while is what a caller waiting on a turn sees as a hang: say so.
      if (++failedOpens % WARN_EVERY_FAILED_OPENS === 0) logger?.warn('run log read cannot open its consumer; retrying', { subject, attempts: failedOpens });
      await sleep(RETRY_PAUSE_MS, undefined, { signal }).catch(() => undefined); // an abort ends the pause early
      continue;
    }
    failedOpens = 0;
    if (!opened) return;
    const { messages, remove } = opened;
    let lost = false;
    const reopen = () => {
      lost = true;
      messages.stop();
    };
    const unwatch = watchForStall(nats, messages, reopen);
    const onAbort = () => messages.stop();
    signal.addEventListener('abort', onAbort, { once: true });
    let delivered = 0;
    try {
      for await (const message of messages) {
        if (message.info.deliverySequence !== delivered + 1) {
          reopen(); // a message went missing on the way: read again from the last one given
          break;
        }
        delivered = message.info.deliverySequence;
        from = { afterSeq: message.seq };
        const frame = frameOf(decodeJson(message.data) as CloudEvent);
        if (frame) yield { ...frame, seq: message.seq, pending: message.info.pending };
      }
    } finally {
      unwatch();
      signal.removeEventListener('abort', onAbort);
      messages.stop();
      remove();
    }
    if (!lost) return;
  }
}

/** nats.js codes of a JetStream that is there but cannot answer yet. */
const isTransient = (err: unknown): boolean => ['TIMEOUT', '503'].includes(String((err as { code?: unknown }).code));

/**
 * A new consumer from `from` and its messages, with `remove` to delete it (best effort); undefined once
 * aborted; 'retry' when JetStream did not answer in time.
 */
async function openConsumer(
  nats: NatsConnection,
  subject: string,
  from: RunLogStart,
  signal: AbortSignal,
): Promise<{ messages: ConsumerMessages; remove: () => void } | 'retry' | undefined> {
  const stream = Streams.runs.name;
  const name = `runlog_${nuid.next()}`;
  const config: Partial<ConsumerConfig> = {
    name,
    filter_subject: subject, // one subject: nats-server 2.9 has no filter_subjects
    ...deliveryOf(from),
    ack_policy: AckPolicy.None,
    max_deliver: 1,
    mem_storage: true,
    num_replicas: 1,
    inactive_threshold: nanos(INACTIVE_THRESHOLD_MS),
  };
  const jsm = await nats.jetstreamManager({ checkAPI: false, timeout: OPEN_TIMEOUT_MS });
  const remove = () => void jsm.consumers.delete(stream, name).catch(() => undefined);
  try {
    if (signal.aborted) return undefined;
    const created = await unlessAborted(jsm.consumers.add(stream, config), signal);
    if (!created) {
      remove(); // it may yet be created: do not leave it behind
      return undefined;
    }
    const consumer = await unlessAborted(nats.jetstream({ timeout: OPEN_TIMEOUT_MS }).consumers.get(stream, name), signal);
    if (!consumer) {
      remove();
      return undefined;
    }
    return { messages: await consumer.consume({ max_messages: 64, expires: PULL_EXPIRES_MS }), remove };
  } catch (err) {
    remove();
    if (isTransient(err)) return 'retry';
    throw err;
  }
}

/** Resolves with `work`, or with undefined once the signal aborts. */
async function unlessAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  let onAbort!: () => void;
  const aborted = new Promise<undefined>((resolve) => {
    onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
  });
  work.catch(() => undefined); // a rejection after the abort is nobody's business
  try {
    return await Promise.race([work, aborted]);
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

/**
 * Calls `onStall` once the read may have stopped for good: two missed idle heartbeats (the consumer's node
 * is gone while this connection stays up), or this connection reconnected (nats.js pauses the heartbeat
 * check then and, if the consumer's node is the one that died, waits for it forever). Returns the unwatch.
 */
function watchForStall(nats: NatsConnection, messages: ConsumerMessages, onStall: () => void): () => void {
  const connection = nats.status() as AsyncIterable<Status> & { stop?: () => void };
  let done = false;
  const stall = () => {
    if (done) return;
    done = true;
    onStall();
  };
  void (async () => {
    for await (const status of connection) if (status.type === Events.Reconnect) return stall();
  })().catch(() => undefined);
  void (async () => {
    for await (const status of await messages.status()) {
      if (status.type === ConsumerEvents.HeartbeatsMissed && Number(status.data) >= 2) return stall();
    }
  })().catch(() => undefined); // the messages ended: nothing to watch
  return () => {
    done = true;
    connection.stop?.();
  };
}
