import { ArgumentsHost, Catch, ExceptionFilter, Inject, Injectable, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { ErrorBodySchema, ErrorCodes, type ErrorBody } from '@keelson/contracts';
import type { MessagingLogger } from '@keelson/messaging';
import { SERVICE_LOGGER, toErrorResponse } from '@keelson/nest-kit';
import type { FastifyInstance, FastifyReply } from 'fastify';

/** OpenAI's error body, which its SDKs parse into typed errors (AuthenticationError, NotFoundError...). */
export interface OpenAIErrorBody {
  error: { message: string; type: string; param: string | null; code: string | null };
}

/** An error raised on the OpenAI routes in OpenAI's own terms (e.g. model_not_found). */
export class OpenAIError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: string,
    readonly param: string | null,
    readonly code: string | null,
  ) {
    super(message);
    this.name = 'OpenAIError';
  }
}

export const modelNotFound = (model: string): OpenAIError =>
  new OpenAIError(404, `The model \`${model}\` does not exist or you do not have access to it.`, 'invalid_request_error', 'model', 'model_not_found');

/** Keelson's codes in OpenAI's vocabulary where they differ; everything else keeps Keelson's code. */
const codes: Record<string, string> = {
  [ErrorCodes.unauthorized]: 'invalid_api_key',
  [ErrorCodes.agentNotFound]: 'model_not_found',
};

/** Anything thrown on an OpenAI route, as OpenAI's status and body. */
export function toOpenAIError(err: unknown): { status: number; body: OpenAIErrorBody; retryAfterSeconds?: number } {
  if (err instanceof OpenAIError) {
    return { status: err.status, body: { error: { message: err.message, type: err.type, param: err.param, code: err.code } } };
  }
  const { status, body, retryAfterSeconds } = toErrorResponse(err);
  // OpenAI answers a spent quota with 429 insufficient_quota; its SDKs and the frameworks on them know it.
  if (body.error.code === ErrorCodes.budgetExceeded) {
    return { status: 429, body: { error: { message: body.error.message, type: 'insufficient_quota', param: null, code: 'insufficient_quota' } } };
  }
  return { status, body: openAIBodyOf(status, body), ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }) };
}

/** Keelson's error body in OpenAI's terms. */
export function openAIBodyOf(status: number, body: ErrorBody): OpenAIErrorBody {
  const type =
    status === 401 ? 'invalid_request_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error';
  const param = status === 401 ? null : (body.error.field ?? null);
  return { error: { message: body.error.message, type, param, code: codes[body.error.code] ?? body.error.code } };
}

export const isOpenAIRoute = (url: string): boolean => {
  const path = url.split('?')[0]!;
  return path === '/v1/chat/completions' || path === '/v1/models' || path.startsWith('/v1/models/');
};

/**
 * Errors raised before a route's handler runs (a body that is not JSON, too large, of the wrong type) are
 * answered by the global ErrorFilter in Keelson's shape; on the OpenAI routes this hook re-shapes them.
 */
@Injectable()
export class OpenAIErrorHook implements OnModuleInit {
  constructor(@Inject(HttpAdapterHost) private readonly http: HttpAdapterHost) {}

  onModuleInit(): void {
    const fastify = this.http.httpAdapter.getInstance<FastifyInstance>();
    fastify.addHook('onSend', async (request, reply, payload) => {
      if (reply.statusCode < 400 || typeof payload !== 'string' || !isOpenAIRoute(request.url)) return payload;
      const raw = safeJson(payload) as { error?: { type?: unknown } } | undefined;
      // Already in OpenAI's shape (OpenAIErrorFilter answered it): it has a `type`.
      if (raw?.error?.type !== undefined) return payload;
      const parsed = ErrorBodySchema.safeParse(raw);
      return parsed.success ? JSON.stringify(openAIBodyOf(reply.statusCode, parsed.data)) : payload;
    });
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Puts the OpenAI routes' errors in OpenAI's shape; the rest of the API keeps Keelson's (ErrorFilter). */
@Catch()
export class OpenAIErrorFilter implements ExceptionFilter {
  constructor(@Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const { status, body, retryAfterSeconds } = toOpenAIError(exception);
    if (status >= 500 && body.error.code !== ErrorCodes.overloaded) this.logger.error('request failed', { error: exception instanceof Error ? exception : String(exception) });
    if (reply.sent || reply.raw.headersSent) return;
    // OpenAI's SDKs wait as long as Retry-After says before their own retry.
    if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
    void reply.status(status).send(body);
  }
}
