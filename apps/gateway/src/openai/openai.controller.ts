import { Scopes } from '@keelson/contracts';
import { Body, Controller, Get, HttpCode, Inject, Param, Post, Res, UseFilters, UseGuards, UseInterceptors } from '@nestjs/common';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { FastifyReply } from 'fastify';
import type { NatsConnection } from 'nats';
import { AgentCatalog } from '../agents/agent-catalog';
import { newCancelId, sendInvoke } from '../agents/invoke-rpc';
import { clientGone } from '../http/disconnect';
import { streamInvoke, type InvokeStreamItem } from '../agents/streamed-invoke';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { BudgetGate } from '../cost/budget-gate';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import type { GatewayConfig } from '../config';
import { GATEWAY_CONFIG } from '../gateway.tokens';
import {
  ChunkBuilder,
  completionMeta,
  completionOf,
  parseChatCompletionRequest,
  toInvokeRpc,
  type ChatCompletion,
} from './chat-completions';
import { OpenAIErrorFilter, modelNotFound, toOpenAIError } from './openai-errors';
import { OpenAISse } from './openai-sse';

export interface OpenAIModel {
  id: string;
  object: 'model';
  created: number;
  owned_by: 'keelson';
}

/**
 * The OpenAI-compatible API: agents are the models. Requests go through the same guard, tenant context
 * and stateless invoke path as POST /v1/agents/{agentId}/invoke; errors leave in OpenAI's shape.
 */
@Controller('v1')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.invoke)
@UseInterceptors(TenantContextInterceptor)
@UseFilters(OpenAIErrorFilter)
export class OpenAIController {
  /** Agents carry no creation time; the gateway's start stands in for it. */
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
    @Inject(BudgetGate) private readonly budgets: BudgetGate,
  ) {}

  @Get('models')
  models(): { object: 'list'; data: OpenAIModel[] } {
    return { object: 'list', data: this.agents.list().map((id) => this.model(id)) };
  }

  @Get('models/:model')
  retrieve(@Param('model') model: string): OpenAIModel {
    if (!this.agents.has(model)) throw modelNotFound(model);
    return this.model(model);
  }

  @Post('chat/completions')
  @HttpCode(200)
  async chatCompletions(
    @Tenant() tenant: string,
    @ApiKeyId() apiKeyId: string,
    @Body() body: unknown,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const call = parseChatCompletionRequest(body);
    if (!this.agents.has(call.agentId)) throw modelNotFound(call.agentId);
    await this.budgets.check(tenant, call.agentId, apiKeyId);
    const meta = completionMeta(call.agentId);
    const rpc = { ...toInvokeRpc(tenant, call), apiKeyId };
    if (!call.stream) {
      const outcome = await sendInvoke(this.nats, { ...rpc, cancelId: newCancelId() }, this.config.INVOKE_TIMEOUT_MS, clientGone(reply.raw));
      const completion: ChatCompletion = completionOf(meta, outcome);
      await reply.status(200).send(completion);
      return;
    }
    const run = streamInvoke(this.nats, rpc, this.config.INVOKE_TIMEOUT_MS);
    const items = run.items[Symbol.asyncIterator]();
    // Until the run has started, a failure (no agent runtime, a refused request) is still an HTTP status.
    let first: IteratorResult<InvokeStreamItem>;
    try {
      first = await items.next();
    } catch (err) {
      run.cancel();
      throw err;
    }
    reply.hijack();
    const sse = new OpenAISse(reply.raw);
    void sse.closed.then(() => run.cancel());
    await relayChunks(first, items, new ChunkBuilder(meta, call.includeUsage), call.includeUsage, sse);
  }

  private model(id: string): OpenAIModel {
    return { id, object: 'model', created: this.created, owned_by: 'keelson' };
  }
}

/** Writes the run as OpenAI chunks; a failure mid-stream is a `data: {error}` line, which the SDKs raise. */
async function relayChunks(
  first: IteratorResult<InvokeStreamItem>,
  items: AsyncIterator<InvokeStreamItem>,
  chunks: ChunkBuilder,
  includeUsage: boolean,
  sse: OpenAISse,
): Promise<void> {
  let sent = '';
  sse.data(chunks.role());
  try {
    for (let step = first; !step.done; step = await items.next()) {
      const item = step.value;
      if (item.kind === 'delta') {
        sent += item.text;
        sse.data(chunks.content(item.text));
      } else if (item.kind === 'done') {
        const { outcome } = item;
        // The reply carries the whole output: whatever the events did not deliver is sent now.
        if (outcome.output.length > sent.length && outcome.output.startsWith(sent)) {
          sse.data(chunks.content(outcome.output.slice(sent.length)));
        }
        sse.data(chunks.finish(outcome.finishReason));
        if (includeUsage) sse.data(chunks.usage(outcome.usage));
        sse.done();
        return;
      }
    }
  } catch (err) {
    sse.data(toOpenAIError(err).body);
  } finally {
    sse.end();
  }
}
