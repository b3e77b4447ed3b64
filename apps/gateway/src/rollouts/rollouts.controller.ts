import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Put, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  AGENT_ID_PATTERN,
  AuditTypes,
  DEFAULT_ROLLOUT_THRESHOLDS,
  ErrorCodes,
  KILL_SWITCH_KINDS,
  KeelsonError,
  PutRolloutRequestSchema,
  RolloutActionRequestSchema,
  Scopes,
  SetKillSwitchRequestSchema,
  TENANT_ID_PATTERN,
  parseOrThrow,
  type KillSwitch,
  type KillSwitchKind,
  type Rollout,
  type RolloutView,
} from '@keelson/contracts';
import type { Principal } from '@keelson/identity';
import { metricsRegistry } from '@keelson/observability';
import { RolloutControl, RolloutStore, newGeneration } from '@keelson/state';
import { AgentCatalog } from '../agents/agent-catalog';
import { GatewayAudit } from '../auditing/gateway-audit';
import { AuthGuard, Caller } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import type { GatewayConfig } from '../config';
import { GATEWAY_CONFIG } from '../gateway.tokens';

/** Rollouts and kill switches act on every tenant: only an operator tenant (OPS_OPERATOR_TENANTS) may touch them. */
function requireOperator(config: GatewayConfig, caller: Principal): void {
  if (!config.OPS_OPERATOR_TENANTS.includes(caller.tenant)) {
    throw new KeelsonError(403, ErrorCodes.forbidden, 'rollouts and kill switches are platform-wide: only an operator tenant (OPS_OPERATOR_TENANTS) may use them');
  }
}

function requireAgentId(agentId: string): void {
  if (!AGENT_ID_PATTERN.test(agentId)) throw new KeelsonError(400, ErrorCodes.validationFailed, `agentId: "${agentId}" is not an agent id`, 'agentId');
}

/**
 * Rollouts of agent versions (docs/rollouts.md), scope `admin`, operator tenants only: list and read them
 * with their current numbers, start or change one (PUT), promote the canary, roll it back. Every change is an
 * audit event recorded before the answer (503 when the trail is down, as for keys).
 */
@Controller('v1/rollouts')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.admin)
@UseInterceptors(TenantContextInterceptor)
export class RolloutsController {
  constructor(
    @Inject(RolloutStore) private readonly store: RolloutStore,
    @Inject(RolloutControl) private readonly control: RolloutControl,
    @Inject(AgentCatalog) private readonly agents: AgentCatalog,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  async list(@Caller() caller: Principal): Promise<{ rollouts: RolloutView[] }> {
    requireOperator(this.config, caller);
    const rollouts = await this.store.list();
    return { rollouts: await Promise.all(rollouts.map((r) => this.view(r))) };
  }

  @Get(':agentId')
  async get(@Caller() caller: Principal, @Param('agentId') agentId: string): Promise<RolloutView> {
    requireOperator(this.config, caller);
    return this.view(await this.require(agentId));
  }

  /** Starts a rollout (new versions, or after a rollback or promotion: new counters), or changes the running one. */
  @Put(':agentId')
  @HttpCode(200)
  async put(@Caller() caller: Principal, @Param('agentId') agentId: string, @Body() body: unknown): Promise<RolloutView> {
    requireOperator(this.config, caller);
    requireAgentId(agentId);
    const request = parseOrThrow(PutRolloutRequestSchema, body);
    if (request.stable === request.canary) throw new KeelsonError(400, ErrorCodes.validationFailed, 'canary: must differ from stable', 'canary');
    const loaded = this.agents.versions(agentId);
    for (const field of ['stable', 'canary'] as const) {
      if (!loaded.includes(request[field])) {
        throw new KeelsonError(400, ErrorCodes.validationFailed, `${field}: agent "${agentId}" has no version "${request[field]}" loaded (loaded: ${loaded.join(', ') || 'none'})`, field);
      }
    }
    for (const [tenant, version] of Object.entries(request.pins ?? {})) {
      if (!loaded.includes(version)) throw new KeelsonError(400, ErrorCodes.validationFailed, `pins.${tenant}: no version "${version}" loaded`, `pins.${tenant}`);
    }
    let started = false;
    const { after } = await this.store.update(agentId, (current) => {
      const now = new Date().toISOString();
      const fresh = !current || current.state === 'rolled_back' || current.state === 'promoted' || current.stable !== request.stable || current.canary !== request.canary;
      started = fresh;
      return {
        agentId,
        stable: request.stable,
        canary: request.canary,
        canaryShare: request.canaryShare,
        thresholds: request.thresholds ?? current?.thresholds ?? DEFAULT_ROLLOUT_THRESHOLDS,
        state: request.state ?? 'running',
        pins: request.pins ?? current?.pins ?? {},
        generation: fresh || !current ? newGeneration() : current.generation,
        startedAt: fresh || !current ? now : current.startedAt,
        updatedAt: now,
        updatedBy: caller.keyId,
        ...(request.reason ? { reason: request.reason } : {}),
      };
    });
    this.control.applyLocally({ rollout: after });
    await this.audit.required({
      tenant: caller.tenant,
      type: AuditTypes.adminRolloutSet,
      apiKeyId: caller.keyId,
      agentId,
      data: { ...summary(after), started, ...(request.reason ? { reason: request.reason } : {}) },
    });
    return this.view(after);
  }

  /** The canary becomes stable for every run (state promoted); counters stay for the record. */
  @Post(':agentId/promote')
  @HttpCode(200)
  async promote(@Caller() caller: Principal, @Param('agentId') agentId: string, @Body() body: unknown): Promise<RolloutView> {
    return this.act(caller, agentId, body, 'promote');
  }

  /** Every run back on stable (share 0, state rolled_back). */
  @Post(':agentId/rollback')
  @HttpCode(200)
  async rollback(@Caller() caller: Principal, @Param('agentId') agentId: string, @Body() body: unknown): Promise<RolloutView> {
    return this.act(caller, agentId, body, 'rollback');
  }

  private async act(caller: Principal, agentId: string, body: unknown, action: 'promote' | 'rollback'): Promise<RolloutView> {
    requireOperator(this.config, caller);
    requireAgentId(agentId);
    const { reason } = parseOrThrow(RolloutActionRequestSchema, body ?? {});
    await this.require(agentId);
    const { after } = await this.store.update(agentId, (current) => {
      if (!current) throw new KeelsonError(404, ErrorCodes.notFound, `no rollout of "${agentId}"`, 'agentId');
      if (current.state !== 'running' && current.state !== 'paused') {
        throw new KeelsonError(409, ErrorCodes.rolloutNotChangeable, `the rollout of "${agentId}" is ${current.state}; start a new one with PUT`, 'agentId');
      }
      const { revision: _revision, verdict: _verdict, ...rest } = current;
      return {
        ...rest,
        ...(action === 'promote' ? { stable: current.canary, state: 'promoted' as const } : { state: 'rolled_back' as const }),
        canaryShare: 0,
        updatedAt: new Date().toISOString(),
        updatedBy: caller.keyId,
        reason: reason ?? (action === 'promote' ? 'promoted by an operator' : 'rolled back by an operator'),
      };
    });
    this.control.applyLocally({ rollout: after });
    if (action === 'rollback') metricsRegistry().counter('rolloutRollbacks').inc({ agent: agentId, trigger: 'manual' });
    await this.audit.required({
      tenant: caller.tenant,
      type: action === 'promote' ? AuditTypes.adminRolloutPromoted : AuditTypes.adminRolloutRolledBack,
      apiKeyId: caller.keyId,
      agentId,
      data: { ...summary(after), trigger: 'manual', ...(reason ? { reason } : {}) },
    });
    return this.view(after);
  }

  private async require(agentId: string): Promise<Rollout> {
    requireAgentId(agentId);
    const rollout = await this.store.get(agentId);
    if (!rollout) throw new KeelsonError(404, ErrorCodes.notFound, `no rollout of "${agentId}"`, 'agentId');
    return rollout;
  }

  private async view(rollout: Rollout): Promise<RolloutView> {
    return { ...rollout, outcomes: await this.store.outcomes(rollout) };
  }
}

function summary(r: Rollout): Record<string, unknown> {
  return { agentId: r.agentId, stable: r.stable, canary: r.canary, canaryShare: r.canaryShare, state: r.state, generation: r.generation, thresholds: r.thresholds, pins: r.pins };
}

/**
 * Kill switches (docs/rollouts.md), scope `admin`, operator tenants only: `agent/{agentId}` stops an agent for
 * every tenant, `tenant/{tenantId}` every agent of a tenant. Checked by the gateway on each invoke, session
 * message and task, and by session-agent and task-worker on each run they pick up; every change is audited.
 */
@Controller('v1/kill-switches')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.admin)
@UseInterceptors(TenantContextInterceptor)
export class KillSwitchesController {
  constructor(
    @Inject(RolloutStore) private readonly store: RolloutStore,
    @Inject(RolloutControl) private readonly control: RolloutControl,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
    @Inject(GATEWAY_CONFIG) private readonly config: GatewayConfig,
  ) {}

  @Get()
  async list(@Caller() caller: Principal): Promise<{ killSwitches: KillSwitch[] }> {
    requireOperator(this.config, caller);
    return { killSwitches: await this.store.listKillSwitches() };
  }

  @Put(':kind/:id')
  @HttpCode(200)
  async set(@Caller() caller: Principal, @Param('kind') kind: string, @Param('id') id: string, @Body() body: unknown): Promise<KillSwitch> {
    requireOperator(this.config, caller);
    const target = parseTarget(kind, id);
    const { reason } = parseOrThrow(SetKillSwitchRequestSchema, body);
    const set = await this.store.setKillSwitch(target.kind, target.id, reason, caller.keyId);
    this.control.applyLocally({ setSwitch: set });
    await this.audit.required({
      tenant: caller.tenant,
      type: AuditTypes.adminKillSwitchSet,
      apiKeyId: caller.keyId,
      ...(target.kind === 'agent' ? { agentId: target.id } : {}),
      data: { kind: target.kind, id: target.id, reason },
    });
    return set;
  }

  @Delete(':kind/:id')
  @HttpCode(200)
  async clear(@Caller() caller: Principal, @Param('kind') kind: string, @Param('id') id: string): Promise<KillSwitch> {
    requireOperator(this.config, caller);
    const target = parseTarget(kind, id);
    const cleared = await this.store.clearKillSwitch(target.kind, target.id);
    if (!cleared) throw new KeelsonError(404, ErrorCodes.notFound, `no kill switch on ${target.kind} "${target.id}"`, 'id');
    this.control.applyLocally({ clearSwitch: target });
    await this.audit.required({
      tenant: caller.tenant,
      type: AuditTypes.adminKillSwitchCleared,
      apiKeyId: caller.keyId,
      ...(target.kind === 'agent' ? { agentId: target.id } : {}),
      data: { kind: target.kind, id: target.id, reason: cleared.reason, setAt: cleared.setAt },
    });
    return cleared;
  }
}

function parseTarget(kind: string, id: string): { kind: KillSwitchKind; id: string } {
  if (!(KILL_SWITCH_KINDS as readonly string[]).includes(kind)) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, `kind: expected agent or tenant, got "${kind}"`, 'kind');
  }
  const pattern = kind === 'agent' ? AGENT_ID_PATTERN : TENANT_ID_PATTERN;
  if (!pattern.test(id)) throw new KeelsonError(400, ErrorCodes.validationFailed, `id: "${id}" is not a ${kind} id`, 'id');
  return { kind: kind as KillSwitchKind, id };
}
