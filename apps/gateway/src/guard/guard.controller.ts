import { Body, Controller, Get, Headers, HttpCode, Inject, Post, Put, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuditTypes, Scopes, type GuardInputResponse, type GuardOutputResponse, type GuardPolicy, type GuardRevealResponse } from '@keelson/contracts';
import type { FastifyReply } from 'fastify';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { GatewayAudit } from '../auditing/gateway-audit';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { GuardClient } from './guard-client';

/**
 * The guard as a product for the tenant's own apps, answered by guard-service over NATS under the
 * caller's policy. The tenant is always the authenticated caller's.
 */
@Controller('v1/guard')
@UseGuards(AuthGuard, RateLimitGuard)
@UseInterceptors(TenantContextInterceptor)
export class GuardController {
  constructor(
    @Inject(GuardClient) private readonly guard: GuardClient,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  /** `{text, source?, agentId?}` -> `{allowed, score, action, findings, decidedBy, policyVersion}`. */
  @Post('input')
  @HttpCode(200)
  @RequireScope(Scopes.invoke)
  input(@Tenant() tenant: string, @Body() body: unknown): Promise<GuardInputResponse> {
    return this.guard.checkInput(tenant, body);
  }

  /** `{text, agentId?}` -> `{text: redacted, findings: [{type, start, end, action}], blocked, policyVersion}` (code points). */
  @Post('output')
  @HttpCode(200)
  @RequireScope(Scopes.invoke)
  output(@Tenant() tenant: string, @Body() body: unknown): Promise<GuardOutputResponse> {
    return this.guard.filterOutput(tenant, body);
  }

  /**
   * `{text}` -> the text with the tenant's pseudonym tokens turned back into their values. Needs the key
   * scope `guard:reveal`; every call is an `admin.pseudonym_revealed` audit event (key, counts, never the
   * values), recorded before the values are returned: if it cannot be recorded, nothing is revealed (503).
   */
  @Post('reveal')
  @HttpCode(200)
  @RequireScope(Scopes.guardReveal)
  async reveal(@Tenant() tenant: string, @ApiKeyId() apiKeyId: string, @Body() body: unknown): Promise<GuardRevealResponse> {
    const revealed = await this.guard.reveal(tenant, body);
    await this.audit.required({ tenant, type: AuditTypes.adminPseudonymRevealed, apiKeyId, data: { revealed: revealed.revealed, unknown: revealed.unknown } });
    return revealed;
  }

  /** The tenant's policy (defaults, version 0, until one is stored); `ETag` is its version. */
  @Get('policy')
  @RequireScope(Scopes.admin)
  async getPolicy(@Tenant() tenant: string, @Res({ passthrough: true }) res: FastifyReply): Promise<GuardPolicy> {
    const policy = await this.guard.getPolicy(tenant);
    void res.header('etag', `"${policy.version}"`);
    return policy;
  }

  /** Replaces the policy (validated; 400 names the field) as the next version; `If-Match: "<version>"` guards against lost updates (409). */
  @Put('policy')
  @HttpCode(200)
  @RequireScope(Scopes.admin)
  async putPolicy(
    @Tenant() tenant: string,
    @ApiKeyId() apiKeyId: string,
    @Body() body: unknown,
    @Headers('if-match') ifMatch: string | undefined,
    @Res({ passthrough: true }) res: FastifyReply,
  ): Promise<GuardPolicy> {
    const policy = await this.guard.putPolicy(tenant, body, ifMatch);
    await this.audit.required({ tenant, type: AuditTypes.adminGuardPolicySet, apiKeyId, data: { version: policy.version } });
    void res.header('etag', `"${policy.version}"`);
    return policy;
  }
}
