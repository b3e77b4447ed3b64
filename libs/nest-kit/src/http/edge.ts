import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import { ErrorCodes, type ErrorBody } from '@keelson/contracts';
import type { HttpSettings } from '@keelson/config';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { trace } from '@opentelemetry/api';
import type { FastifyError, FastifyHttpOptions, FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import type { Socket } from 'node:net';
import { toErrorResponse } from './error-response';

/** Methods a browser may send cross-origin; the API uses no others. */
const CORS_METHODS = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'];
/** Request headers a browser may send cross-origin: auth is a bearer header, so no cookies (credentials false). */
const CORS_ALLOWED_HEADERS = ['Authorization', 'Content-Type', 'Accept', 'Idempotency-Key', 'Last-Event-ID', 'If-Match', 'If-None-Match', 'traceparent', 'tracestate'];
/** Response headers a browser script may read: where a task went, when to retry, whether it was a replay. */
const CORS_EXPOSED_HEADERS = ['Location', 'Retry-After', 'Idempotent-Replayed', 'ETag', 'X-Request-Id'];

/** The request id: the trace id when the request is traced (so logs and traces agree), else a random UUID. */
function requestId(): string {
  const context = trace.getActiveSpan()?.spanContext();
  return context && trace.isSpanContextValid(context) ? context.traceId : randomUUID();
}

const errorBody = (code: string, message: string): ErrorBody => ({ error: { code, message } });

/**
 * A request refused by Node's HTTP parser before Fastify saw it (too-large headers, the request timeout,
 * malformed HTTP): the standard error body on the raw socket, then the socket is closed.
 */
function answerClientError(err: NodeJS.ErrnoException & { bytesParsed?: number }, socket: Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, body] =
    err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
      ? [408, errorBody(ErrorCodes.requestTimeout, 'the request did not arrive in time')]
      : err.code === 'HPE_HEADER_OVERFLOW'
        ? [431, errorBody(ErrorCodes.headersTooLarge, 'the request line and headers are larger than allowed')]
        : [400, errorBody(ErrorCodes.badRequest, 'the request is not valid HTTP/1.1')];
  const text = JSON.stringify(body);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\n` +
        `Content-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n${text}`,
    );
  }
  socket.destroy();
}

/** A URL Fastify's router refused (bad percent-encoding, an overlong path segment): the standard body. */
function answerFrameworkError(err: FastifyError, _request: FastifyRequest, reply: FastifyReply): void {
  const { status, body } = toErrorResponse(err);
  void reply.status(status).send(body);
}

/**
 * Fastify's server options for the edge: body size, timeouts, header size, request ids and the error bodies
 * of requests refused before routing. Passed to the FastifyAdapter.
 */
export function edgeServerOptions(settings: HttpSettings, bodyLimit: number): FastifyHttpOptions<Server> {
  return {
    bodyLimit,
    logger: false,
    requestTimeout: settings.HTTP_REQUEST_TIMEOUT_MS,
    keepAliveTimeout: settings.HTTP_KEEP_ALIVE_TIMEOUT_MS,
    connectionTimeout: settings.HTTP_CONNECTION_TIMEOUT_MS,
    // Node checks the request and header timeouts every connectionsCheckingInterval (30 s by default, as
    // long as the timeout itself); a quarter of the request timeout keeps the cut close to the setting.
    http: {
      maxHeaderSize: settings.HTTP_MAX_HEADER_BYTES,
      connectionsCheckingInterval: Math.max(100, Math.min(5_000, Math.floor(settings.HTTP_REQUEST_TIMEOUT_MS / 4))),
    },
    genReqId: requestId,
    // A request read while the server closes is served (drainConnectionsOnClose), not refused with a 503.
    return503OnClosing: false,
    clientErrorHandler: answerClientError,
    frameworkErrors: answerFrameworkError,
  };
}

/**
 * Security headers (helmet), CORS by configuration, the URL length limit and Node's header timeout on a
 * booted app, before its routes are registered.
 */
export async function hardenHttpEdge(app: NestFastifyApplication, settings: HttpSettings): Promise<void> {
  const fastify = app.getHttpAdapter().getInstance();
  const server = app.getHttpServer() as Server;
  // Node refuses a headers timeout above the request timeout; a larger setting is lowered to it.
  server.headersTimeout = Math.min(settings.HTTP_HEADERS_TIMEOUT_MS, settings.HTTP_REQUEST_TIMEOUT_MS);

  // Before anything else reads the URL: an overlong one is 414, without routing it.
  fastify.addHook('onRequest', async (request: FastifyRequest, reply: FastifyReply) => {
    if (request.url.length > settings.HTTP_MAX_URL_LENGTH) {
      return reply
        .status(414)
        .send(errorBody(ErrorCodes.uriTooLong, `the path and query string are longer than the limit of ${settings.HTTP_MAX_URL_LENGTH} characters`));
    }
    return undefined;
  });

  // Helmet sets its headers on the raw response in onRequest, so they reach hijacked streams (SSE) too. The
  // API answers JSON only: its CSP allows nothing. A route that sets its own CSP (the dashboard's HTML)
  // keeps it, because headers a route sets are written over the raw ones.
  await app.register(helmet, {
    contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
    crossOriginResourcePolicy: { policy: 'same-site' },
    strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
    frameguard: { action: 'deny' },
  });
  // The id a 500 body names and its log line carries; on the raw response, so streams have it too.
  fastify.addHook('onRequest', async (request, reply) => {
    reply.raw.removeHeader('x-powered-by');
    reply.raw.setHeader('x-request-id', request.id);
  });

  const origins = settings.CORS_ALLOWED_ORIGINS;
  if (origins.length > 0) {
    await app.register(cors, {
      origin: origins.includes('*') ? '*' : origins,
      methods: CORS_METHODS,
      allowedHeaders: CORS_ALLOWED_HEADERS,
      exposedHeaders: CORS_EXPOSED_HEADERS,
      credentials: false,
      maxAge: settings.CORS_MAX_AGE_SECONDS,
      strictPreflight: true,
    });
    // @fastify/cors sets its headers on the reply; a hijacked stream (SSE) writes the raw response itself,
    // so they are copied there too.
    fastify.addHook('onRequest', async (_request, reply) => {
      for (const [name, value] of Object.entries(reply.getHeaders())) {
        if ((name.startsWith('access-control-') || name === 'vary') && value !== undefined) reply.raw.setHeader(name, value);
      }
    });
  }
}
