import { HttpException } from '@nestjs/common';
import { ErrorCodes, KeelsonError, type ErrorBody } from '@keelson/contracts';

export interface ErrorResponse {
  status: number;
  body: ErrorBody;
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
};

const statusCodes: Record<number, string> = {
  400: ErrorCodes.validationFailed,
  401: ErrorCodes.unauthorized,
  404: ErrorCodes.notFound,
  405: ErrorCodes.methodNotAllowed,
  413: ErrorCodes.payloadTooLarge,
  415: ErrorCodes.unsupportedMediaType,
};

/** One mapping from anything thrown to the public error shape, shared by Nest filters and Fastify hooks. */
export function toErrorResponse(err: unknown): ErrorResponse {
  if (err instanceof KeelsonError) return { status: err.status, body: err.toBody() };
  if (err instanceof HttpException) {
    const status = err.getStatus();
    const code = statusCodes[status] ?? (status >= 500 ? ErrorCodes.internal : ErrorCodes.validationFailed);
    const message = status === 404 ? 'no such route' : status === 415 ? 'send the body as application/json' : err.message;
    return { status, body: { error: { code, message } } };
  }
  const e = (err ?? {}) as FastifyLikeError;
  const known = e.code ? fastifyCodes[e.code] : undefined;
  if (known) return { status: known.status, body: { error: { code: known.code, message: known.message } } };
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    const code = statusCodes[e.statusCode] ?? ErrorCodes.validationFailed;
    return { status: e.statusCode, body: { error: { code, message: e.message ?? 'bad request' } } };
  }
  return { status: 500, body: { error: { code: ErrorCodes.internal, message: 'internal error' } } };
}
