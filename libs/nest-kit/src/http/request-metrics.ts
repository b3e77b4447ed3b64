import { metricsRegistry, type MetricsRegistry } from '@keelson/observability';
import type { FastifyInstance, FastifyRequest } from 'fastify';

/** Where the error filter leaves an error answer's `code`, for the request's metrics. */
const ERROR_CODE = Symbol('keelson.errorCode');

type WithCode = { [ERROR_CODE]?: string };

/** Remembers the `code` of the error answer to `request` (called by ErrorFilter). */
export function noteErrorCode(request: FastifyRequest | undefined, code: string): void {
  if (request) (request as WithCode)[ERROR_CODE] = code;
}

/** The execution model a gateway route serves, for the latency histogram. */
export function executionModelOf(route: string): 'stateless' | 'session' | 'task' | 'other' {
  if (/^\/v1\/agents\/:[^/]+\/invoke$/.test(route) || route === '/v1/chat/completions') return 'stateless';
  if (route === '/v1/sessions' || route.startsWith('/v1/sessions/')) return 'session';
  if (route === '/v1/tasks' || route.startsWith('/v1/tasks/')) return 'task';
  return 'other';
}

/** One answered request, for an in-process observer (the gateway's dashboard traffic window). */
export interface HttpSample {
  request: FastifyRequest;
  route: string;
  status: number;
  durationMs: number;
  executionModel: ReturnType<typeof executionModelOf>;
}

/** Probes and scrapes are the platform looking at itself: counted, they would pad every rate and error ratio. */
const PROBES: ReadonlySet<string> = new Set(['/healthz', '/readyz', '/metrics']);

/**
 * keelson_http_request_duration_seconds for every answered request (but probes and scrapes), and keelson_http_errors_total for
 * every status >= 400 with the error code ErrorFilter answered with (`unknown` when none went through it).
 * Labelled by the route TEMPLATE (`unmatched` for a 404 on no route), never the raw URL.
 */
export function recordHttpMetrics(
  fastify: FastifyInstance,
  registry: MetricsRegistry = metricsRegistry(),
  observe?: (sample: HttpSample) => void,
): void {
  const duration = registry.histogram('httpRequestDuration');
  const errors = registry.counter('httpErrors');
  // An error answered without ErrorFilter (a controller sending toErrorResponse itself): read its code from the body.
  fastify.addHook('onSend', async (request, reply, payload) => {
    if (reply.statusCode >= 400 && (request as WithCode)[ERROR_CODE] === undefined && typeof payload === 'string' && payload.length < 4_096) {
      try {
        const code = (JSON.parse(payload) as { error?: { code?: unknown } }).error?.code;
        if (typeof code === 'string') noteErrorCode(request, code);
      } catch {
        // not JSON: the code stays unknown
      }
    }
    return payload;
  });
  fastify.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    if (PROBES.has(route)) return;
    const status = reply.statusCode;
    const executionModel = executionModelOf(route);
    duration.observe(
      { method: request.method, route, status_class: `${Math.floor(status / 100)}xx`, execution_model: executionModel },
      reply.elapsedTime / 1000,
    );
    if (status >= 400) errors.inc({ route, status, code: (request as WithCode)[ERROR_CODE] ?? 'unknown' });
    observe?.({ request, route, status, durationMs: reply.elapsedTime, executionModel });
  });
}
