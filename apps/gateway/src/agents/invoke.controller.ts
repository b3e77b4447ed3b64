import { Body, Controller, HttpCode, Inject, Param, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { InvokeRequestSchema, parseOrThrow, type InvokeRpcRequest, type RunOutcome, Scopes } from '@keelson/contracts';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { FastifyReply } from 'fastify';
import type { NatsConnection } from 'nats';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { BudgetGate } from '../cost/budget-gate';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { GATEWAY_CONFIG } from '../gateway.tokens';
import type { GatewayConfig } from '../config';
import { AgentCatalog } from './agent-catalog';
import { clientGone } from '../http/disconnect';
import { newCancelId, sendInvoke } from './invoke-rpc';

/** Stateless request-response: the body carries the whole context, any agent replica answers. */
@Controller('v1/agents')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.invoke)
@UseInterceptors(TenantContextInterceptor)
export class InvokeController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BudgetGate) private readonly budgets: BudgetGate,
  ) {}

  @Post(':agentId/invoke')
  @HttpCode(200)
  async invoke(
    @Tenant() tenant: string,
    @ApiKeyId() apiKeyId: string,
    @Param('agentId') agentId: string,
    @Body() body: unknown,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<RunOutcome> {
    this.agents.require(agentId, tenant);
    const input = parseOrThrow(InvokeRequestSchema, body);
    await this.budgets.check(tenant, agentId, apiKeyId);
    const rpc: InvokeRpcRequest = {
      tenant,
      agentId,
      messages: input.messages ?? [{ role: 'user', content: input.input! }],
      cancelId: newCancelId(),
      apiKeyId,
      ...(input.userId ? { userId: input.userId } : {}),
    };
    return sendInvoke(this.nats, rpc, this.config.INVOKE_TIMEOUT_MS, clientGone(reply.raw));
  }
}
