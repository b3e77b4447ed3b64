import { ArgumentsHost, Catch, ExceptionFilter } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ErrorCodes } from '@keelson/contracts';
import type { MessagingLogger } from '@keelson/messaging';
import { toErrorResponse } from './error-response';
import { noteErrorCode } from './request-metrics';

/**
 * Every HTTP error leaves as `{ error: { code, message, field? } }`; only 5xx are logged as errors, with the
 * request id a 500 body names (the trace id when the request is traced), so an operator can find the stack.
 */
@Catch()
export class ErrorFilter implements ExceptionFilter {
  constructor(private readonly logger: MessagingLogger) {}

  catch(exception: unknown, host: ArgumentsHost): void {
    if (host.getType() !== 'http') throw exception;
    const reply = host.switchToHttp().getResponse<FastifyReply>();
    const request = host.switchToHttp().getRequest<FastifyRequest | undefined>();
    const { status, body, retryAfterSeconds } = toErrorResponse(exception, request?.id);
    noteErrorCode(request, body.error.code);
    // A 503 overloaded is load being shed as designed (it is counted), not a fault to log one by one.
    if (status >= 500 && body.error.code !== ErrorCodes.overloaded) {
      this.logger.error('request failed', { error: exception instanceof Error ? exception : String(exception), requestId: request?.id });
    }
    if (reply.sent || reply.raw.headersSent) return;
    if (retryAfterSeconds !== undefined) void reply.header('retry-after', String(retryAfterSeconds));
    // Fastify closes the connection on a body it will not read, with the client maybe still sending it: the
    // close then resets the socket, and a client busy writing a large body sees the reset, not this 413.
    // Kept open, Node reads the rest of the body and discards it (bounded by the request timeout).
    if (body.error.code === ErrorCodes.payloadTooLarge) void reply.removeHeader('connection');
    void reply.status(status).send(body);
  }
}
