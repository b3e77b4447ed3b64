import { Controller, Get, Inject, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { ErrorCodes, KeelsonError, type OpsOverview, type RunReplay, Scopes } from '@keelson/contracts';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';
import { AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { GATEWAY_CONFIG } from '../gateway.tokens';
import type { GatewayConfig } from '../config';
import { OpsOverviewBuilder } from './ops-overview';
import { parseReplayTarget, parseWindow } from './ops-query';
import { replayRun } from './run-replay';

/**
 * The dashboard's data: `GET /v1/ops/overview?window=` and `GET /v1/ops/runs?tenant=&taskId=|sessionId=`.
 * Scope ops:read; the caller's own tenant, or every tenant for an operator tenant (OPS_OPERATOR_TENANTS).
 */
@Controller('v1/ops')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.opsRead)
@UseInterceptors(TenantContextInterceptor)
export class OpsController {
  constructor(
    @Inject(OpsOverviewBuilder) private readonly overviews: OpsOverviewBuilder,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get('overview')
  async overview(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<OpsOverview> {
    return this.overviews.build(tenant, parseWindow(query ?? {}));
  }

  @Get('runs')
  async run(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<RunReplay> {
    const target = parseReplayTarget(query ?? {}, tenant, this.config.OPS_OPERATOR_TENANTS.includes(tenant));
    const replay = await replayRun(this.nats, target);
    if (replay) return replay;
    const [code, what] = target.kind === 'task' ? [ErrorCodes.taskNotFound, 'taskId'] : [ErrorCodes.sessionNotFound, 'sessionId'];
    throw new KeelsonError(404, code, `${what}: the run log holds nothing for "${target.id}" of tenant "${target.tenant}" (never run, or past retention)`, what);
  }
}
