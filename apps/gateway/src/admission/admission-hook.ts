import { Inject, Injectable, OnApplicationShutdown, OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import { admitRequests } from '@keelson/nest-kit';
import type { FastifyInstance } from 'fastify';
import type { GatewayConfig } from '../config';
import { GATEWAY_CONFIG } from '../gateway.tokens';

/**
 * Puts admission control (libs/nest-kit admission) in front of every gateway route. Installed while the app
 * initialises, before Fastify is ready, so the hook applies to every route Nest registered.
 */
@Injectable()
export class AdmissionHook implements OnModuleInit, OnApplicationShutdown {
  private stop: () => void = () => undefined;

  constructor(
    @Inject(HttpAdapterHost) private readonly http: HttpAdapterHost,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  onModuleInit(): void {
    const fastify = this.http.httpAdapter?.getInstance<FastifyInstance>();
    // Absent when the module is mounted without an HTTP server (a standalone test context).
    if (fastify) this.stop = admitRequests(fastify, this.config);
  }

  onApplicationShutdown(): void {
    this.stop();
  }
}
