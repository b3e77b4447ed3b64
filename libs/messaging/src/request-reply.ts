import { ErrorCodes, type InvokeRpcReply } from '@keelson/contracts';
import type { Msg, NatsConnection } from 'nats';
import { decodeJson, encodeJson } from './codec';
import { InvalidJsonError, natsErrorCode, NoRespondersError, RequestTimeoutError } from './errors';
import { headersToRecord, recordToHeaders } from './headers';
import { errorMeta, stderrLogger, type MessagingLogger } from './logger';
import { RequestQueue, type ShedReason } from './request-queue';
import { subjectTemplate } from './subject-template';
import { extractTraceContext, injectTraceContext, markFailed, MessagingAttributes as A, SpanKind, tracer, withSpan } from './tracing';

/** The error half of an RPC reply (the HTTP error shape, as in @keelson/contracts' InvokeRpcReply). */
export type ErrorReply = Extract<InvokeRpcReply, { ok: false }>;

export interface ServeRequestsOptions {
  logger?: MessagingLogger;
  /** Handlers running at once in this process; default 64. */
  concurrency?: number;
  /** Requests waiting for a slot at most (a newcomer beyond it is refused); default 256, 0 = no queue. */
  maxQueue?: number;
  /** The longest a request waits for a slot before it is refused, in ms; default 100 (see RequestQueue). */
  maxQueueWaitMs?: number;
  metrics?: ServeRequestsMetrics;
  /** Milliseconds, monotonic; injected by tests. */
  clock?: () => number;
}

/** What the responder's queue did, for metrics (keelson_rpc_*). */
export interface ServeRequestsMetrics {
  /** A request was answered 503 overloaded without running its handler. */
  shed(reason: ShedReason): void;
  /** A request got a slot after waiting `seconds` (0 when one was free on arrival). */
  started(seconds: number): void;
}

export const SERVE_DEFAULTS = { concurrency: 64, maxQueue: 256, maxQueueWaitMs: 100 } as const;

/**
 * Answers core-NATS requests on `subject` as one member of queue group `queue` (replicas share the load).
 * JSON in and out. A handler that throws is answered with {ok:false,status,code,message} (status and code
 * from a KeelsonError-like error, else 500 internal_error), so a caller never waits for its timeout; a body
 * that is not JSON gets 400 invalid_json. Each request is a SERVER span `process {subject}` in the caller's trace.
 *
 * At most `concurrency` handlers run at once. Requests are read off the subscription as they arrive, so
 * none waits unseen in the client's buffer: those that find every slot taken wait in a bounded FIFO
 * (RequestQueue), and one that would wait past `maxQueueWaitMs`, or finds the queue full or standing, is
 * answered at once with 503 `overloaded` and retryAfterSeconds. A started request is never refused.
 * stop() drains the subscription: every request already received is answered first.
 */
export function serveRequests<Req, Res>(
  nc: NatsConnection,
  subject: string,
  queue: string,
  handler: (req: Req, headers: Record<string, string>) => Promise<Res>,
  opts: ServeRequestsOptions = {},
): { stop(): Promise<void> } {
  const logger = opts.logger ?? stderrLogger;
  const concurrency = opts.concurrency ?? SERVE_DEFAULTS.concurrency;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError(`concurrency must be a positive integer, got ${concurrency}`);
  const maxQueueWaitMs = opts.maxQueueWaitMs ?? SERVE_DEFAULTS.maxQueueWaitMs;
  const waiting = new RequestQueue<Msg>({ maxQueue: opts.maxQueue ?? SERVE_DEFAULTS.maxQueue, maxWaitMs: maxQueueWaitMs, clock: opts.clock });
  const metrics = opts.metrics;
  const overloaded: ErrorReply = {
    ok: false,
    status: 503,
    code: ErrorCodes.overloaded,
    message: `every ${subject} responder is at capacity; retry shortly`,
    retryAfterSeconds: Math.max(1, Math.ceil(maxQueueWaitMs / 1_000)),
  };
  const overloadedBody = encodeJson(overloaded);
  const active = new Set<Promise<void>>();
  const template = subjectTemplate(subject);
  const sub = nc.subscribe(subject, { queue });
  let expiryTimer: NodeJS.Timeout | undefined;
  let idle: (() => void) | undefined;

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

  const refuse = (reason: ShedReason) => (msg: Msg) => {
    metrics?.shed(reason);
    if (!msg.reply) return;
    try {
      msg.respond(overloadedBody);
    } catch (err) {
      logger.warn('cannot send the reply', { subject, ...errorMeta(err) });
    }
  };
  const refuseExpired = refuse('queue_timeout');

  const start = (msg: Msg, waitedMs: number): void => {
    metrics?.started(waitedMs / 1_000);
    const task: Promise<void> = answer(msg).finally(() => {
      active.delete(task);
      const next = waiting.next(refuseExpired);
      if (next) start(next.item, next.waitedMs);
      settle();
    });
    active.add(task);
  };

  // Waiters past their budget are answered even while every handler is slow to finish.
  const settle = (): void => {
    if (waiting.length > 0) {
      expiryTimer ??= setInterval(() => {
        waiting.expire(refuseExpired);
        settle();
      }, Math.max(5, maxQueueWaitMs / 4));
      expiryTimer.unref();
      return;
    }
    if (expiryTimer) clearInterval(expiryTimer);
    expiryTimer = undefined;
    if (active.size === 0) idle?.();
  };

  const loop = (async () => {
    for await (const msg of sub) {
      const arrivedAt = waiting.now();
      if (active.size < concurrency && waiting.length === 0) {
        start(msg, 0);
        continue;
      }
      const shed = waiting.offer(msg, arrivedAt);
      if (shed) refuse(shed)(msg);
      settle();
    }
  })().catch((err: unknown) => logger.error('request subscription failed', { subject, queue, ...errorMeta(err) }));

  let stopping: Promise<void> | undefined;
  return {
    stop() {
      stopping ??= (async () => {
        if (!sub.isClosed()) await sub.drain().catch(() => sub.unsubscribe());
        await loop;
        // Everything received is answered: the queued ones run (or are refused once past their budget).
        if (active.size > 0 || waiting.length > 0) await new Promise<void>((resolve) => (idle = resolve));
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
