import { ErrorCodes, type InvokeRpcReply } from '@keelson/contracts';
import type { Msg, NatsConnection } from 'nats';
import { decodeJson, encodeJson } from './codec';
import { InvalidJsonError, natsErrorCode, NoRespondersError, RequestTimeoutError } from './errors';
import { headersToRecord, recordToHeaders } from './headers';
import { errorMeta, stderrLogger, type MessagingLogger } from './logger';
import { Slots } from './concurrency';
import { subjectTemplate } from './subject-template';
import { extractTraceContext, injectTraceContext, markFailed, MessagingAttributes as A, SpanKind, tracer, withSpan } from './tracing';

/** The error half of an RPC reply (the HTTP error shape, as in @keelson/contracts' InvokeRpcReply). */
export type ErrorReply = Extract<InvokeRpcReply, { ok: false }>;

export interface ServeRequestsOptions {
  logger?: MessagingLogger;
  /** Handlers running at once in this process; default 64. */
  concurrency?: number;
}

/**
 * Answers core-NATS requests on `subject` as one member of queue group `queue` (replicas share the load).
 * JSON in and out. A handler that throws is answered with {ok:false,status,code,message} (status and code
 * from a KeelsonError-like error, else 500 internal_error), so a caller never waits for its timeout; a body
 * that is not JSON gets 400 invalid_json. Each request is a SERVER span `process {subject}` in the caller's trace.
 * stop() drains the subscription: requests already received are answered first.
 */
export function serveRequests<Req, Res>(
  nc: NatsConnection,
  subject: string,
  queue: string,
  handler: (req: Req, headers: Record<string, string>) => Promise<Res>,
  opts: ServeRequestsOptions = {},
): { stop(): Promise<void> } {
  const logger = opts.logger ?? stderrLogger;
  const slots = new Slots(opts.concurrency ?? 64);
  const active = new Set<Promise<void>>();
  const template = subjectTemplate(subject);
  const sub = nc.subscribe(subject, { queue });

  const answer = async (msg: Msg): Promise<void> => {
    const headers = headersToRecord(msg.headers);
    const attributes = {
      [A.system]: 'nats',
      [A.destination]: subject,
      [A.destinationTemplate]: template,
      [A.operationType]: 'process',
      [A.operationName]: 'process',
      [A.consumerGroup]: queue,
      [A.bodySize]: msg.data.length,
    };
    await tracer.startActiveSpan(`process ${template}`, { kind: SpanKind.SERVER, attributes }, extractTraceContext(headers), async (span) => {
      let reply: unknown;
      try {
        reply = await handler(decodeJson(msg.data) as Req, headers);
      } catch (err) {
        reply = errorReply(err);
        markFailed(span, err);
        if (!(err instanceof InvalidJsonError)) logger.error('request handler failed', { subject, ...errorMeta(err) });
      }
      try {
        if (!msg.reply) {
          logger.warn('request without a reply subject; the answer is dropped', { subject });
          return;
        }
        let body: Uint8Array;
        try {
          body = encodeJson(reply);
        } catch (err) {
          body = encodeJson(errorReply(new Error(`the reply cannot be encoded as JSON: ${(err as Error).message}`)));
        }
        msg.respond(body);
      } catch (err) {
        logger.warn('cannot send the reply', { subject, ...errorMeta(err) });
      } finally {
        span.end();
      }
    });
  };

  const loop = (async () => {
    for await (const msg of sub) {
      if (!(await slots.acquire())) break;
      const task: Promise<void> = answer(msg).finally(() => {
        slots.release();
        active.delete(task);
      });
      active.add(task);
    }
  })().catch((err: unknown) => logger.error('request subscription failed', { subject, queue, ...errorMeta(err) }));

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        if (!sub.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
        await loop;
        await Promise.allSettled([...active]);
        if (!nc.isClosed()) await nc.flush().catch(() => undefined);
      })();
      return stopping;
    },
  };
}

/** The error reply for a handler's exception. */
export function errorReply(err: unknown): ErrorReply {
  if (err instanceof InvalidJsonError) return { ok: false, status: 400, code: ErrorCodes.invalidJson, message: err.message };
  const e = err as { status?: unknown; code?: unknown; message?: unknown; field?: unknown } | undefined;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  if (typeof e?.status === 'number' && typeof e.code === 'string') {
    return { ok: false, status: e.status, code: e.code, message, ...(typeof e.field === 'string' ? { field: e.field } : {}) };
  }
  return { ok: false, status: 500, code: ErrorCodes.internal, message };
}

export interface RequestOptions {
  timeoutMs: number;
  headers?: Record<string, string>;
}

/**
 * A core-NATS request with a JSON body; resolves with the parsed reply, whatever it says (an error reply is
 * data for the caller). Throws NoRespondersError when nobody listens, RequestTimeoutError when no reply comes
 * in time. A CLIENT span `send {subject}` carries the trace to the responder.
 */
export function request<Res>(nc: NatsConnection, subject: string, payload: unknown, opts: RequestOptions): Promise<Res> {
  const template = subjectTemplate(subject);
  const data = encodeJson(payload);
  return withSpan(
    `send ${template}`,
    SpanKind.CLIENT,
    {
      [A.system]: 'nats',
      [A.destination]: subject,
      [A.destinationTemplate]: template,
      [A.operationType]: 'send',
      [A.operationName]: 'send',
      [A.bodySize]: data.length,
    },
    undefined,
    async () => {
      const record: Record<string, string> = { ...opts.headers };
      injectTraceContext(record);
      let reply: Msg;
      try {
        reply = await nc.request(subject, data, { timeout: opts.timeoutMs, headers: recordToHeaders(record) });
      } catch (err) {
        const code = natsErrorCode(err);
        if (code === '503') throw new NoRespondersError(subject);
        if (code === 'TIMEOUT') throw new RequestTimeoutError(subject, opts.timeoutMs);
        throw err;
      }
      return decodeJson(reply.data) as Res;
    },
  );
}
