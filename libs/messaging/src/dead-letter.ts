import { Headers, Subjects } from '@keelson/contracts';
import type { JetStreamClient, JsMsg } from 'nats';
import { headersToRecord, headerValue } from './headers';
import { publishBytes, type PublishAck } from './publisher';

/**
 * Where the original Nats-Msg-Id of a dead letter is kept: the dead letter's own Nats-Msg-Id is
 * `{stream}:{seq}`, so dead-lettering the same message twice (a lost term, a crash) stores it once.
 * Not in @keelson/contracts' Headers yet; it belongs there.
 */
export const DEAD_LETTER_ORIGINAL_MSG_ID = Headers.deadLetterMsgId;

/** Headers that instruct the server about the publish itself; copied onto a dead letter they would misdirect it. */
const SERVER_DIRECTIVES = /^nats-(expected-|rollup$|ttl$|msg-id$)/i;

export interface DeadLetterInput {
  stream: string;
  subject: string;
  streamSeq: number;
  deliveryCount: number;
  data: Uint8Array;
  headers: Record<string, string>;
}

export function deadLetterInputFrom(msg: JsMsg): DeadLetterInput {
  return {
    stream: msg.info.stream,
    subject: msg.subject,
    streamSeq: msg.info.streamSequence,
    deliveryCount: msg.info.deliveryCount,
    data: msg.data,
    headers: headersToRecord(msg.headers),
  };
}

/** The headers of a dead letter: the original ones (minus server directives) plus where it came from and why. */
export function deadLetterHeaders(input: DeadLetterInput, reason: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(input.headers)) {
    if (SERVER_DIRECTIVES.test(key)) continue;
    out[key] = value;
  }
  const originalMsgId = Object.entries(input.headers).find(([key]) => key.toLowerCase() === Headers.msgId.toLowerCase())?.[1];
  if (originalMsgId !== undefined) out[DEAD_LETTER_ORIGINAL_MSG_ID] = originalMsgId;
  out[Headers.deadLetterReason] = headerValue(reason);
  out[Headers.deadLetterStream] = input.stream;
  out[Headers.deadLetterSubject] = input.subject;
  out[Headers.deadLetterSeq] = String(input.streamSeq);
  out[Headers.deliveries] = String(input.deliveryCount);
  return out;
}

/**
 * Publishes the original bytes to `keelson.dlq.{stream}` and waits for the PubAck. The caller terms the
 * message only after this resolves; if it rejects, the message must be nak'd, never dropped.
 */
export function publishDeadLetter(js: JetStreamClient, input: DeadLetterInput, reason: string, timeoutMs = 5_000): Promise<PublishAck> {
  return publishBytes(js, Subjects.deadLetter(input.stream), input.data, {
    headers: deadLetterHeaders(input, reason),
    msgId: `${input.stream}:${input.streamSeq}`,
    timeoutMs,
  });
}
