import { Scopes } from '@keelson/contracts';
import { Controller, Get, Inject, Query, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import type { AuditVerifyResult } from '@keelson/contracts';
import type { MessagingLogger } from '@keelson/messaging';
import { SERVICE_LOGGER } from '@keelson/nest-kit';
import type { FastifyReply } from 'fastify';
import { AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { streamAuditExport } from './audit-export';
import { AuditRpcClient, type AuditPage } from './audit-rpc-client';

/**
 * The audit trail over HTTP, read-only, answered by audit-service over core NATS (keelson.rpc.audit.query and
 * .verify). The tenant is always the authenticated caller's: a `tenant` parameter is refused like any unknown
 * one. There are no write routes: records reach audit-service only from the KEELSON_AUDIT stream, and a
 * POST, PUT or DELETE here is answered like any unknown route (404 `not_found`, the gateway's rule for a
 * wrong method). audit-service not answering is 503 `unavailable`; its error replies pass through as they are.
 */
@Controller('v1/audit')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.auditRead)
@UseInterceptors(TenantContextInterceptor)
export class AuditController {
  constructor(
    @Inject(AuditRpcClient) private readonly audit: AuditRpcClient,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
  ) {}

  /**
   * `?traceId&sessionId&taskId&runId&actor&type&from&to&cursor&limit` -> `{events, nextCursor?}`: the records
   * matching every filter, in chain order (seq); pass `nextCursor` back as `cursor` with the same filters.
   */
  @Get('events')
  events(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<AuditPage> {
    return this.audit.events(tenant, query);
  }

  /** `?from&to&fromSeq&toSeq` (or nothing: the whole chain) -> AuditVerifyResult with the first break, if any. */
  @Get('verify')
  verify(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<AuditVerifyResult> {
    return this.audit.verify(tenant, query);
  }

  /**
   * The filters of `events` (no cursor or limit) -> `application/x-ndjson`, one AuditRecord per line, paged from
   * audit-service 500 at a time, then one trailer line: `{"export":"complete","count":N}`, or
   * `{"export":"incomplete","count":N,"error":{code,message},"cursor"}` when a later page failed (see
   * AuditExportTrailer). Bad filters and a failing first page are ordinary JSON error responses.
   */
  @Get('export')
  async export(@Tenant() tenant: string, @Query() query: Record<string, unknown>, @Res() reply: FastifyReply): Promise<void> {
    const filter = this.audit.exportFilter(query);
    const first = await this.audit.exportPage(tenant, filter);
    reply.hijack();
    const filename = `audit-${tenant}-${new Date().toISOString().replace(/[:.]/g, '-')}.ndjson`;
    const { count, trailer } = await streamAuditExport(reply.raw, first, (cursor) => this.audit.exportPage(tenant, filter, cursor), { filename });
    if (!trailer) this.logger.info('audit export stopped: the client went away', { tenant, count });
    else if (trailer.export === 'incomplete') {
      const level = trailer.error.code === 'unavailable' ? 'warn' : 'error';
      this.logger[level]('audit export ended early', { tenant, count, code: trailer.error.code, message: trailer.error.message });
    }
  }
}
