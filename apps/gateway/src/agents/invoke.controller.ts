import { Body, Controller, HttpCode, Inject, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  ErrorCodes,
  InvokeRequestSchema,
  KeelsonError,
  Subjects,
  parseOrThrow,
  type ErrorCode,
  type InvokeRpcReply,
  type InvokeRpcRequest,
  type RunOutcome,
} from '@keelson/contracts';
import { NoRespondersError, RequestTimeoutError, request } from '@keelson/messaging';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';
import { AuthGuard, Tenant } from '../auth/auth.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { GATEWAY_CONFIG } from '../gateway.tokens';
import type { GatewayConfig } from '../config';
import { AgentCatalog } from './agent-catalog';

/** Stateless request-response: the body carries the whole context, any agent replica answers. */
@Controller('v1/agents')
@UseGuards(AuthGuard)
@UseInterceptors(TenantContextInterceptor)
export class InvokeController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Post(':agentId/invoke')
  @HttpCode(200)
  async invoke(@Tenant() tenant: string, @Param('agentId') agentId: string, @Body() body: unknown): Promise<RunOutcome> {
    this.agents.require(agentId);
    const input = parseOrThrow(InvokeRequestSchema, body);
    const rpc: InvokeRpcRequest = {
      tenant,
      agentId,
      messages: input.messages ?? [{ role: 'user', content: input.input! }],
    };
    let reply: InvokeRpcReply;
    try {
      reply = await request<InvokeRpcReply>(this.nats, Subjects.invokeRpc, rpc, { timeoutMs: this.config.INVOKE_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof NoRespondersError) {
        throw new KeelsonError(503, ErrorCodes.unavailable, 'no agent runtime is running; try again shortly');
      }
      if (err instanceof RequestTimeoutError) {
        throw new KeelsonError(504, ErrorCodes.timeout, `the agent did not answer within ${this.config.INVOKE_TIMEOUT_MS} ms`);
      }
      throw err;
    }
    if (!reply.ok) throw new KeelsonError(reply.status, reply.code as ErrorCode, reply.message, reply.field);
    return reply.outcome;
  }
}
