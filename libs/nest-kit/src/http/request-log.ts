import type { MessagingLogger } from '@keelson/messaging';
import type { FastifyInstance } from 'fastify';

/**
 * One structured line per HTTP request: the route template (never the raw URL, which carries ids and query
 * strings), status, duration and tenant. Successes log at debug, so a busy gateway pays for them only when
 * asked (LOG_LEVEL=debug); client errors at info, server errors at error.
 */
export function logRequests(fastify: FastifyInstance, logger: MessagingLogger): void {
  fastify.addHook('onResponse', async (request, reply) => {
    const status = reply.statusCode;
    const meta = {
      method: request.method,
      route: request.routeOptions.url ?? 'unmatched',
      status,
      durationMs: Math.round(reply.elapsedTime * 100) / 100,
      tenant: (request as { principal?: { tenant: string } }).principal?.tenant,
    };
    if (status >= 500) logger.error('http request', meta);
    else if (status >= 400) logger.info('http request', meta);
    else logger.debug('http request', meta);
  });
}
