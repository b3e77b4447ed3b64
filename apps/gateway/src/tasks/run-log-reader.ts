import { Streams, type CloudEvent } from '@keelson/contracts';
import { decodeJson } from '@keelson/messaging';
import { DeliverPolicy, type NatsConnection } from 'nats';
import { frameOf, type RunEventFrame } from '../sessions/turn-relay';

export interface LoggedFrame extends RunEventFrame {
  /** The event's sequence in the run log: the SSE id a client resumes from with Last-Event-ID. */
  seq: number;
  /** Events still in the log after this one when it was read; 0 means the reader has caught up. */
  pending: number;
}

/**
 * Reads one run's events from the run log with an ordered consumer: from the beginning, or after the
 * sequence a reconnecting client last saw. Nothing is created on the server that outlives the reader.
 */
export async function* readRunLog(
  nats: NatsConnection,
  subject: string,
  afterSeq: number | undefined,
  signal: AbortSignal,
): AsyncGenerator<LoggedFrame> {
  const consumer = await nats.jetstream().consumers.get(Streams.runs.name, {
    filterSubjects: subject, // a single subject: nats-server 2.9 has no filter_subjects
    // Left unset, an ordered consumer starts at the beginning (nats.js rejects an explicit DeliverPolicy.All).
    ...(afterSeq === undefined ? {} : { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: afterSeq + 1 }),
  });
  const messages = await consumer.consume({ max_messages: 64 });
  const stop = () => messages.stop();
  signal.addEventListener('abort', stop, { once: true });
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
