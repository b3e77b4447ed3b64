import { Headers } from '@keelson/contracts';
import type { JsMsg } from 'nats';
import { getHeader } from './headers';

/** A JetStream message as a handler sees it: parsed JSON, plain headers, and where it came from. */
export interface InboundMessage<T = unknown> {
  subject: string;
  data: T;
  headers: Record<string, string>;
  /** Its Nats-Msg-Id, if the publisher set one. */
  msgId?: string;
  streamSeq: number;
  /** 1 on the first delivery. */
  deliveryCount: number;
  stream: string;
  /** Extends the ack wait now; the runner also does it on a timer while the handler runs. */
  working(): void;
}

export type MessageHandler = (msg: InboundMessage) => Promise<void>;

export function toInboundMessage<T>(msg: JsMsg, data: T, headers: Record<string, string>): InboundMessage<T> {
  // A re-queued copy of a stranded message (stranded-messages.ts) is the original to its handler: same
  // sequence, same Nats-Msg-Id (or none), so the ids derived from them (a task's, a write's origin) are kept.
  const requeuedFrom = Number(getHeader(headers, Headers.requeuedFromSeq));
  const requeued = Number.isSafeInteger(requeuedFrom) && requeuedFrom > 0;
  const inbound: InboundMessage<T> = {
    subject: msg.subject,
    data,
    headers,
    streamSeq: requeued ? requeuedFrom : msg.info.streamSequence,
    deliveryCount: msg.info.deliveryCount,
    stream: msg.info.stream,
    working: () => msg.working(),
  };
  const msgId = getHeader(headers, requeued ? Headers.requeuedMsgId : Headers.msgId);
  if (msgId !== undefined) inbound.msgId = msgId;
  return inbound;
}
