import { Controller, Get, HttpCode, Res } from '@nestjs/common';
import { metricsRegistry } from '@keelson/observability';
import type { FastifyReply } from 'fastify';
import { Readiness } from './readiness';

/**
 * Liveness says the process answers; readiness says its dependencies do; /metrics is this process's
 * Prometheus metrics. All three are unauthenticated, for probes and scrapers: keep them off the public
 * listener (docs/operations.md, "Metrics").
 */
@Controller()
export class HealthController {
  constructor(private readonly readiness: Readiness) {}

  @Get('healthz')
  @HttpCode(200)
  healthz(): { status: 'ok' } {
    return { status: 'ok' };
  }

  @Get('readyz')
  async readyz(@Res() reply: FastifyReply): Promise<void> {
    const report = await this.readiness.report();
    await reply.status(report.ready ? 200 : 503).send({ status: report.ready ? 'ready' : 'not_ready', checks: report.checks });
  }

  @Get('metrics')
  async metrics(@Res() reply: FastifyReply): Promise<void> {
    const registry = metricsRegistry();
    const text = await registry.metrics();
    await reply.status(200).header('content-type', registry.contentType).send(text);
  }
}
