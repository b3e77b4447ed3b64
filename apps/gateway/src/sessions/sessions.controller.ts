import { Body, Controller, Delete, Get, Headers, HttpCode, Inject, Param, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  AuditTypes,
  BudgetExceededError,
  CreateSessionRequestSchema,
  ErrorCodes,
  KeelsonError,
  RunEventNames,
  SendMessageRequestSchema,
  Subjects,
  newSessionId,
  parseOrThrow,
  type RunCompleted,
  type RunFailed,
  type SessionCreated,
  type SessionView,
  type TurnReply, Scopes } from '@keelson/contracts';
import { NATS_CONNECTION, toErrorResponse } from '@keelson/nest-kit';
import { SessionStore } from '@keelson/state';
import type { FastifyReply } from 'fastify';
import type { NatsConnection } from 'nats';
import { AgentCatalog } from '../agents/agent-catalog';
import { GatewayAudit } from '../auditing/gateway-audit';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { SseStream } from '../http/sse';
import { resumePoint } from '../run-log/resume-point';
import { RetentionPolicy } from '../run-log/retention';
import { readRunLog } from '../run-log/run-log-reader';
import { requireResourceId } from './session-id';
import { TurnRelay, type TurnInFlight } from './turn-relay';

const wantsEventStream = (accept: string | undefined) => (accept ?? '').includes('text/event-stream');

@Controller('v1/sessions')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.sessions)
@UseInterceptors(TenantContextInterceptor)
export class SessionsController {
  constructor(
    @Inject(SessionStore) private readonly sessions: SessionStore,
    @Inject(TurnRelay) private readonly relay: TurnRelay,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(RetentionPolicy) private readonly retention: RetentionPolicy,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  @Post()
  @HttpCode(201)
  async create(@Tenant() tenant: string, @ApiKeyId() apiKeyId: string, @Body() body: unknown): Promise<SessionCreated> {
    const { agentId, userId } = parseOrThrow(CreateSessionRequestSchema, body);
    this.agents.require(agentId, tenant);
    const sessionId = newSessionId();
    const { expiresAt } = await this.sessions.create(tenant, sessionId, agentId, userId);
    await this.audit.noted({ id: `session:${sessionId}:opened`, tenant, type: AuditTypes.sessionOpened, apiKeyId, sessionId, agentId, data: { expiresAt, ...(userId ? { userId } : {}) } });
    return { sessionId, expiresAt };
  }

  @Get(':sessionId')
  async get(@Tenant() tenant: string, @Param('sessionId') sessionId: string): Promise<SessionView> {
    return this.require(tenant, sessionId);
  }

  /**
   * The session's run log as SSE, every turn, each event's `id` its run-log sequence: replayed from the
   * start of the tenant's replay window, or after `Last-Event-ID`, then followed live until the client goes.
   */
  @Get(':sessionId/events')
  async events(
    @Tenant() tenant: string,
    @Param('sessionId') sessionId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.require(tenant, sessionId);
    const filter = Subjects.sessionRuns(tenant, sessionId);
    const start = await resumePoint({ nats: this.nats, retention: this.retention, tenant, filter, value: lastEventId, field: 'Last-Event-ID' });
    reply.hijack();
    const sse = new SseStream(reply.raw);
    const abort = new AbortController();
    void sse.closed.then(() => abort.abort());
    try {
      for await (const frame of readRunLog(this.nats, filter, start, abort.signal)) sse.send(frame.name, frame.event, String(frame.seq));
    } catch (err) {
      sse.send('error', toErrorResponse(err).body.error);
    } finally {
      abort.abort();
      sse.end();
    }
  }

  @Delete(':sessionId')
  @HttpCode(204)
  async delete(@Tenant() tenant: string, @ApiKeyId() apiKeyId: string, @Param('sessionId') sessionId: string): Promise<void> {
    const view = await this.require(tenant, sessionId);
    // Recorded first: audit-service archives the session's run log on this event, and a close it never
    // heard of would leave the transcript unarchived once the run log ages out.
    await this.audit.required({
      id: `session:${sessionId}:closed`,
      tenant,
      type: AuditTypes.sessionClosed,
      apiKeyId,
      sessionId,
      agentId: view.agentId,
      data: { turns: view.turns },
    });
    const deleted = await this.sessions.delete(tenant, requireResourceId(sessionId, ErrorCodes.sessionNotFound, 'sessionId'));
    if (!deleted) throw new KeelsonError(404, ErrorCodes.sessionNotFound, `no session "${sessionId}"`, 'sessionId');
  }

  /**
   * One turn: a JSON reply by default, or the reply's run events as SSE with `Accept: text/event-stream`, each
   * `id` its run-log sequence: a client cut off mid-turn resumes with GET events and that Last-Event-ID.
   */
  @Post(':sessionId/messages')
  async send(
    @Tenant() tenant: string,
    @ApiKeyId() apiKeyId: string,
    @Param('sessionId') sessionId: string,
    @Body() body: unknown,
    @Headers('accept') accept: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    requireResourceId(sessionId, ErrorCodes.sessionNotFound, 'sessionId');
    const { content, onBusy } = parseOrThrow(SendMessageRequestSchema, body);
    const turn = await this.relay.send(tenant, sessionId, content, onBusy, apiKeyId);
    if (wantsEventStream(accept)) {
      reply.hijack();
      await streamTurn(turn, new SseStream(reply.raw));
      return;
    }
    await reply.status(200).send(await collectTurn(sessionId, turn));
  }

  private async require(tenant: string, sessionId: string): Promise<SessionView> {
    const view = await this.sessions.get(tenant, requireResourceId(sessionId, ErrorCodes.sessionNotFound, 'sessionId'));
    if (!view) throw new KeelsonError(404, ErrorCodes.sessionNotFound, `no session "${sessionId}"`, 'sessionId');
    return view;
  }
}

async function streamTurn(turn: TurnInFlight, sse: SseStream): Promise<void> {
  void sse.closed.then(() => turn.cancel());
  try {
    for await (const frame of turn.events) sse.send(frame.name, frame.event, String(frame.seq));
  } catch (err) {
    sse.send('error', toErrorResponse(err).body.error);
  } finally {
    sse.end();
  }
}

async function collectTurn(sessionId: string, turn: TurnInFlight): Promise<TurnReply> {
  for await (const frame of turn.events) {
    if (frame.name === RunEventNames.completed) {
      return { sessionId, turn: turn.turn, ...(frame.event.data as RunCompleted).outcome };
    }
    if (frame.name === RunEventNames.failed) {
      const { error } = frame.event.data as RunFailed;
      if (error.code === ErrorCodes.sessionNotFound) throw new KeelsonError(404, ErrorCodes.sessionNotFound, error.message);
      if (error.code === ErrorCodes.budgetExceeded && error.budget) throw new BudgetExceededError(error.budget, error.message);
      // Interrupted by a later message (onBusy: interrupt): this turn has no reply, by request.
      if (error.code === ErrorCodes.runCancelled) throw new KeelsonError(409, ErrorCodes.runCancelled, error.message);
      throw new KeelsonError(502, ErrorCodes.agentFailed, error.message);
    }
  }
  throw new KeelsonError(502, ErrorCodes.agentFailed, 'the turn ended without a reply');
}
