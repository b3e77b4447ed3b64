import { Headers } from '@keelson/contracts';
import type { JetStreamClient, JetStreamPublishOptions, NatsConnection } from 'nats';
import { encodeJson } from './codec';
import { natsErrorCode, PublishError } from './errors';
import { getHeader, recordToHeaders } from './headers';
import { stderrLogger, type MessagingLogger } from './logger';
import { subjectTemplate } from './subject-template';
import { injectTraceContext, MessagingAttributes as A, SpanKind, withSpan } from './tracing';

export interface PublishOptions {
  /** Nats-Msg-Id: JetStream drops a second publish with the same id within the stream's duplicate window. */
  msgId?: string;
  headers?: Record<string, string>;
  /** How long to wait for the PubAck, retries included; default the publisher's defaultTimeoutMs (5 000). */
  timeoutMs?: number;
  /** Fail unless this stream stores the message. */
  expectStream?: string;
  /** The span name's subject template; default the contract stream pattern that captures the subject. */
  subjectTemplate?: string;
}

export interface PublishAck {
  stream: string;
  /** For a duplicate: the sequence of the message stored first. */
  seq: number;
  duplicate: boolean;
}

/**
 * Publishes JSON to JetStream and waits for the PubAck, so a resolved publish means stored. Every publish
 * carries the W3C trace context of a PRODUCER span `send {subject template}`. Within its timeout it tries
 * again while the stream cannot answer (a leader election), so a NATS node's loss is a pause, not an error.
 */
export class JetStreamPublisher {
  private readonly js: JetStreamClient;
  private readonly logger: MessagingLogger;
  private readonly defaultTimeoutMs: number;

  constructor(nc: NatsConnection, opts: { logger?: MessagingLogger; defaultTimeoutMs?: number } = {}) {
    this.js = nc.jetstream();
    this.logger = opts.logger ?? stderrLogger;
    this.defaultTimeoutMs = opts.defaultTimeoutMs ?? 5_000;
  }

  publish(subject: string, payload: unknown, opts: PublishOptions = {}): Promise<PublishAck> {
    return publishBytes(this.js, subject, encodeJson(payload), {
      ...opts,
      timeoutMs: opts.timeoutMs ?? this.defaultTimeoutMs,
    }).catch((err: unknown) => {
      this.logger.debug('publish failed', { subject, error: (err as Error).message });
      throw err;
    });
  }
}

/** The publish behind JetStreamPublisher, for bytes that are already encoded (dead letters). */
export async function publishBytes(
  js: JetStreamClient,
  subject: string,
  data: Uint8Array,
  opts: PublishOptions & { timeoutMs: number },
): Promise<PublishAck> {
  const record: Record<string, string> = { ...opts.headers };
  const msgId = opts.msgId ?? getHeader(record, Headers.msgId);
  const template = opts.subjectTemplate ?? subjectTemplate(subject);
  return withSpan(
    `send ${template}`,
    SpanKind.PRODUCER,
    {
      [A.system]: 'nats',
      [A.destination]: subject,
      [A.destinationTemplate]: template,
      [A.operationType]: 'send',
      [A.operationName]: 'send',
      [A.messageId]: msgId,
      [A.bodySize]: data.length,
    },
    undefined,
    async (span) => {
      injectTraceContext(record);
      const publishOpts: Partial<JetStreamPublishOptions> = { headers: recordToHeaders(record) };
      if (msgId !== undefined) publishOpts.msgID = msgId;
      if (opts.expectStream !== undefined) publishOpts.expect = { streamName: opts.expectStream };
      const deadline = Date.now() + opts.timeoutMs;
      for (let attempt = 0; ; attempt++) {
        const remaining = deadline - Date.now();
        // With a msgId a retry cannot store twice, so one attempt need not spend the whole budget.
        publishOpts.timeout = msgId === undefined ? remaining : Math.min(remaining, Math.max(MIN_ATTEMPT_MS, opts.timeoutMs / 3));
        try {
          const ack = await js.publish(subject, data, publishOpts);
          span.setAttributes({ [A.stream]: ack.stream, [A.streamSequence]: ack.seq, [A.duplicate]: ack.duplicate, 'keelson.publish.attempts': attempt + 1 });
          return { stream: ack.stream, seq: ack.seq, duplicate: ack.duplicate };
        } catch (err) {
          const pause = Math.min(MAX_RETRY_PAUSE_MS, FIRST_RETRY_PAUSE_MS * 2 ** attempt);
          if (!retriable(err, msgId !== undefined) || deadline - Date.now() <= pause) throw toPublishError(subject, opts.timeoutMs, err);
          await new Promise((resolve) => setTimeout(resolve, pause));
        }
      }
    },
  );
}

const MIN_ATTEMPT_MS = 1_000;
const FIRST_RETRY_PAUSE_MS = 50;
const MAX_RETRY_PAUSE_MS = 500;

/**
 * Worth another try within the timeout: no responders (503: nothing stored; a clustered stream electing a
 * leader answers so for a few seconds, 3.3 s measured on three nodes), or no PubAck when a msgId makes a
 * second store impossible. Without a msgId a timed-out publish may have been stored, so it is not repeated.
 */
function retriable(err: unknown, deduplicated: boolean): boolean {
  const code = natsErrorCode(err);
  return code === '503' || (code === 'TIMEOUT' && deduplicated);
}

function toPublishError(subject: string, timeoutMs: number, err: unknown): PublishError {
  const code = natsErrorCode(err);
  if (code === '503') return new PublishError(subject, 'no_stream', `no stream captures ${subject}`, err);
  if (code === 'TIMEOUT') {
    return new PublishError(
      subject,
      'timeout',
      `no PubAck for ${subject} within ${timeoutMs} ms (it may be stored; publish again with the same msgId)`,
      err,
    );
  }
  return new PublishError(subject, 'rejected', `publish to ${subject} failed: ${(err as Error).message}`, err);
}
