import { Body, Controller, Get, Headers, Inject, Param, Post, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  AuditTypes,
  CreateTaskRequestSchema,
  ErrorCodes,
  KeelsonError,
  Subjects,
  parseOrThrow,
  type TaskView, Scopes } from '@keelson/contracts';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import { GatewayAudit } from '../auditing/gateway-audit';
import { TaskStore } from '@keelson/state';
import type { FastifyReply } from 'fastify';
import type { NatsConnection } from 'nats';
import { AgentCatalog } from '../agents/agent-catalog';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { BudgetGate } from '../cost/budget-gate';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { SseStream } from '../http/sse';
import { RetentionPolicy } from '../run-log/retention';
import { resumePoint } from '../run-log/resume-point';
import { requireResourceId } from '../sessions/session-id';
import { streamTaskEvents } from './task-events';
import { TaskIntake } from './task-intake';

/** `Idempotency-Key` (the IETF header) and the body field are the same key; giving two different ones is an error. */
function idempotencyKeyOf(body: unknown, header: string | undefined): unknown {
  if (header === undefined || typeof body !== 'object' || body === null) return body;
  const inBody = (body as { idempotencyKey?: unknown }).idempotencyKey;
  if (inBody !== undefined && inBody !== header) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, 'Idempotency-Key header and body.idempotencyKey differ', 'idempotencyKey');
  }
  return { ...body, idempotencyKey: header };
}

@Controller('v1/tasks')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.tasks)
@UseInterceptors(TenantContextInterceptor)
export class TasksController {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(TaskIntake) private readonly intake: TaskIntake,
    @Inject(TaskStore) private readonly tasks: TaskStore,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
    @Inject(RetentionPolicy) private readonly retention: RetentionPolicy,
    @Inject(BudgetGate) private readonly budgets: BudgetGate,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  /** 202 once JetStream holds the task; a repeated idempotency key answers with the first task's id. */
  @Post()
  async create(
    @Tenant() tenant: string,
    @ApiKeyId() apiKeyId: string,
    @Body() body: unknown,
    @Headers('idempotency-key') idempotencyHeader: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    const request = parseOrThrow(CreateTaskRequestSchema, idempotencyKeyOf(body, idempotencyHeader));
    this.agents.require(request.agentId, tenant);
    await this.budgets.check(tenant, request.agentId, apiKeyId);
    const accepted = await this.intake.accept(tenant, request, apiKeyId);
    if (!accepted.duplicate) {
      await this.audit.noted({ id: `task:${accepted.taskId}:accepted`, tenant, type: AuditTypes.taskAccepted, apiKeyId, taskId: accepted.taskId, agentId: request.agentId, data: { via: 'http' } });
    }
    void reply.header('location', `/v1/tasks/${accepted.taskId}`);
    if (accepted.duplicate) void reply.header('idempotent-replayed', 'true');
    await reply.status(202).send(accepted);
  }

  @Get(':taskId')
  async get(@Tenant() tenant: string, @Param('taskId') taskId: string): Promise<TaskView> {
    return this.require(tenant, taskId);
  }

  /**
   * The task's run log as SSE, from the start of the tenant's replay window, or after `Last-Event-ID` (the
   * same rules as a session's events: 400 for a malformed id, 410 for one past the window).
   */
  @Get(':taskId/events')
  async events(
    @Tenant() tenant: string,
    @Param('taskId') taskId: string,
    @Headers('last-event-id') lastEventId: string | undefined,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.require(tenant, taskId);
    const filter = Subjects.taskRun(tenant, taskId);
    const start = await resumePoint({ nats: this.nats, retention: this.retention, tenant, filter, value: lastEventId, field: 'Last-Event-ID' });
    reply.hijack();
    await streamTaskEvents({ nats: this.nats, tasks: this.tasks, tenant, taskId, start, sse: new SseStream(reply.raw) });
  }

  private async require(tenant: string, taskId: string): Promise<TaskView> {
    const view = await this.tasks.get(tenant, requireResourceId(taskId, ErrorCodes.taskNotFound, 'taskId'));
    if (!view) throw new KeelsonError(404, ErrorCodes.taskNotFound, `no task "${taskId}"`, 'taskId');
    return view;
  }
}
