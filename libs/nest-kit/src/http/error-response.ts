import { HttpException } from '@nestjs/common';
import { ErrorCodes, KeelsonError, type ErrorBody } from '@keelson/contracts';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
  /** For a 503 that a retry soon may get past: the Retry-After header, in seconds. */
  retryAfterSeconds?: number;
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
}

const fastifyCodes: Record<string, { status: number; code: string; message: string }> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { status: 413, code: ErrorCodes.payloadTooLarge, message: 'request body is larger than allowed' },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    status: 415,
    code: ErrorCodes.unsupportedMediaType,
    message: 'send the body as application/json',
  },
  FST_ERR_BAD_URL: { status: 400, code: ErrorCodes.invalidUrl, message: 'the path is not valid percent-encoding' },
  FST_ERR_MAX_PARAM_LENGTH: { status: 414, code: ErrorCodes.uriTooLong, message: 'a path segment is longer than allowed' },
};

const statusCodes: Record<number, string> = {
  400: ErrorCodes.validationFailed,
  401: ErrorCodes.unauthorized,
  404: ErrorCodes.notFound,
  405: ErrorCodes.methodNotAllowed,
  408: ErrorCodes.requestTimeout,
  413: ErrorCodes.payloadTooLarge,
  414: ErrorCodes.uriTooLong,
  415: ErrorCodes.unsupportedMediaType,
  431: ErrorCodes.headersTooLarge,
};

// An absolute file path (`/app/dist/x.js:12:7`, `C:\\app\\x.js`) or a stack frame (`at fn (...)`).
const FILE_PATH = /(?:[A-Za-z]:\\|\/)(?:[\w.@-]+[\\/])+[\w.@-]*(?::\d+){0,2}/g;
const STACK_FRAME = /\n\s*at\s[\s\S]*$/;

/**
 * A 5xx message as it may leave the process: a KeelsonError's message is written for callers, but it can
 * quote an error from below (a NATS or file-system message), so file paths and stack frames are cut out.
 */
export function publicServerMessage(message: string): string {
  return message.replace(STACK_FRAME, '').replace(FILE_PATH, '[path]');
}

/** The message of a 500 nobody meant to answer: nothing from the error itself, only how to find it in the logs. */
export const internalErrorMessage = (requestId?: string): string =>
  requestId ? `internal error; the operator can find it in the logs by request id ${requestId}` : 'internal error';

/** node-redis errors of a connection that is down or being re-made (a Redis restart). */
const REDIS_UNAVAILABLE = new Set([
  'ClientClosedError',
  'ClientOfflineError',
  'ConnectionTimeoutError',
  'DisconnectsClientError',
  'ReconnectStrategyError',
  'SocketClosedUnexpectedlyError',
  'SocketTimeoutError',
]);
/** Redis replies of a server that is up but cannot serve yet: loading its data after a restart, failing over. */
const REDIS_NOT_READY = /^(LOADING|MASTERDOWN|TRYAGAIN|CLUSTERDOWN)\b/;
/** nats.js codes of a connection that is gone or going, and socket errors of any client. */
const CONNECTION_GONE = new Set(['CONNECTION_CLOSED', 'CONNECTION_DRAINING', 'DISCONNECT', 'ECONNREFUSED', 'ECONNRESET', 'EPIPE']);

/**
 * Whether `err` says a store or the message bus cannot answer for the moment (restarting, reconnecting,
 * loading), rather than that the request or the code is wrong: such a request is worth retrying shortly.
 */
export function isDependencyUnavailable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  const code = (err as { code?: unknown }).code;
  return REDIS_UNAVAILABLE.has(err.name) || REDIS_NOT_READY.test(err.message) || (typeof code === 'string' && CONNECTION_GONE.has(code));
}

/**
 * When a 503 KeelsonError says a retry may get in: its own `retryAfterSeconds` (a responder's overloaded
 * reply passes its value on), else 1 s for any 503 overloaded, which is load that passes. (A 429 sets its
 * header where it is refused: RateLimitGuard.)
 */
function retryAfterOf(err: KeelsonError): number | undefined {
  if (err.status !== 503) return undefined;
  const seconds = (err as { retryAfterSeconds?: unknown }).retryAfterSeconds;
  if (typeof seconds === 'number' && Number.isFinite(seconds) && seconds > 0) return Math.ceil(seconds);
  return err.code === ErrorCodes.overloaded ? 1 : undefined;
}

/**
 * One mapping from anything thrown to the public error shape, shared by Nest filters and Fastify hooks. No 5xx
 * body carries a stack, a file path or the message of an error nobody wrote for callers; an unexpected error
 * is 500 internal_error naming `requestId`, which the log line of the error carries too.
 */
export function toErrorResponse(err: unknown, requestId?: string): ErrorResponse {
  if (err instanceof KeelsonError) {
    const body = err.toBody();
    if (err.status >= 500) body.error.message = publicServerMessage(body.error.message);
    const retryAfterSeconds = retryAfterOf(err);
    return retryAfterSeconds === undefined ? { status: err.status, body } : { status: err.status, body, retryAfterSeconds };
  }
  if (err instanceof HttpException) {
    const status = err.getStatus();
    if (status >= 500) {
      const code = status === 503 ? ErrorCodes.unavailable : status === 504 ? ErrorCodes.timeout : ErrorCodes.internal;
      return { status, body: { error: { code, message: internalErrorMessage(requestId) } } };
    }
    const code = statusCodes[status] ?? (status >= 500 ? ErrorCodes.internal : ErrorCodes.validationFailed);
    const message = status === 404 ? 'no such route' : status === 415 ? 'send the body as application/json' : err.message;
    return { status, body: { error: { code, message } } };
  }
  if (isDependencyUnavailable(err)) {
    const message = 'a store or the message bus is not reachable for a moment; retry';
    return { status: 503, body: { error: { code: ErrorCodes.unavailable, message } }, retryAfterSeconds: 1 };
  }
  const e = (err ?? {}) as FastifyLikeError;
  const known = e.code ? fastifyCodes[e.code] : undefined;
  if (known) return { status: known.status, body: { error: { code: known.code, message: known.message } } };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = statusCodes[e.statusCode] ?? ErrorCodes.validationFailed;
    return { status: e.statusCode, body: { error: { code, message: e.message ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { code: ErrorCodes.internal, message: internalErrorMessage(requestId) } } };
}
