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
  const inbound: InboundMessage<T> = {
    subject: msg.subject,
    data,
    headers,
    streamSeq: msg.info.streamSequence,
    deliveryCount: msg.info.deliveryCount,
    stream: msg.info.stream,
    working: () => msg.working(),
  };
  const msgId = getHeader(headers, Headers.msgId);
  if (msgId !== undefined) inbound.msgId = msgId;
  return inbound;
}
