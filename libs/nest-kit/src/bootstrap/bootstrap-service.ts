import type { DynamicModule, INestApplication, Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, type NestFastifyApplication } from '@nestjs/platform-fastify';
import { defaultHttpSettings, type HttpSettings } from '@keelson/config';
import type { MessagingLogger } from '@keelson/messaging';
import { metricsRegistry, nameHttpServerSpan } from '@keelson/observability';
import type { AddressInfo } from 'node:net';
import { edgeServerOptions, hardenHttpEdge } from '../http/edge';
import { ErrorFilter } from '../http/error.filter';
import { acceptJsonBodiesOnly } from '../http/json-body';
import { logRequests } from '../http/request-log';
import { recordHttpMetrics, type HttpSample } from '../http/request-metrics';
import { NestLogger } from '../logging/nest-logger';
import { JetStreamServer, type JetStreamServerOptions } from '../transport/jetstream.server';
import { idleGcCheckMs, startIdleMemoryTrim } from './idle-memory-trim';

export interface ServiceBootstrapOptions {
  name: string;
  module: Type<unknown> | DynamicModule;
  port: number;
  host: string;
  logger: MessagingLogger;
  /** JetStream consumers this service runs; omitted by services that only publish or answer requests. */
  transport?: Omit<JetStreamServerOptions, 'logger' | 'serviceName'>;
  bodyLimitBytes?: number;
  /**
   * The HTTP edge's timeouts, limits and CORS (libs/config httpSettings, docs/operations.md "HTTP edge"); a
   * service's parsed config can be passed as it is. Omitted: every default, CORS off.
   */
  http?: HttpSettings;
  /** Record keelson_http_request_duration_seconds and keelson_http_errors_total (the gateway); default false. */
  httpMetrics?: boolean;
  /** Called with every answered request when httpMetrics is on (the gateway's dashboard). */
  onHttpResponse?: (sample: HttpSample) => void;
}

/**
 * Boots one Keelson service: Fastify HTTP (health, and the API for the gateway), the JetStream transport
 * when the service consumes, shutdown hooks that stop consuming before connections drain. The HTTP edge is
 * hardened the same way in every service: security headers, timeouts, size and depth limits, one error body.
 */
export async function bootstrapService(options: ServiceBootstrapOptions): Promise<INestApplication> {
  const bodyLimit = options.bodyLimitBytes ?? 1_048_576;
  const idleGcMs = idleGcCheckMs();
  metricsRegistry().defaultLabels({ service: options.name });
  const http = options.http ?? defaultHttpSettings();
  const adapter = new FastifyAdapter(edgeServerOptions(http, bodyLimit));
  const app = await NestFactory.create<NestFastifyApplication>(options.module, adapter, {
    logger: new NestLogger(options.logger),
    bodyParser: false,
    // Throw instead of exiting, so the process entry reports the failure in one line (runService).
    abortOnError: false,
  });
  const fastify = app.getHttpAdapter().getInstance();
  await hardenHttpEdge(app, http);
  acceptJsonBodiesOnly(fastify, bodyLimit, http.HTTP_MAX_JSON_DEPTH);
  logRequests(fastify, options.logger);
  fastify.addHook('onRequest', async (request) => {
    if (request.routeOptions.url) nameHttpServerSpan(request.method, request.routeOptions.url);
  });
  if (options.httpMetrics) recordHttpMetrics(fastify, metricsRegistry(), options.onHttpResponse);
  app.useGlobalFilters(new ErrorFilter(options.logger));
  app.enableShutdownHooks();
  if (options.transport) {
    app.connectMicroservice(
      { strategy: new JetStreamServer({ ...options.transport, serviceName: options.name, logger: options.logger }) },
      { inheritAppConfig: true },
    );
  }
  // Every provider and lifecycle hook is ready before the first message is pulled.
  await app.init();
  if (options.transport) await app.startAllMicroservices();
  await app.listen({ port: options.port, host: options.host, backlog: http.HTTP_LISTEN_BACKLOG });
  const address = app.getHttpServer().address() as AddressInfo;
  options.logger.info(`${options.name} listening`, { port: address.port, host: options.host });
  // Gives the heap pages start-up and load grew into back to the OS once the service is at rest.
  if (idleGcMs > 0) startIdleMemoryTrim({ checkEveryMs: idleGcMs });
  return app;
}
