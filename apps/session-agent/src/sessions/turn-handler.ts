import type { AuditSink } from '@keelson/audit';
import type { InlineGuard } from '@keelson/guard';
import {
  ErrorCodes,
  KeelsonError,
  RESOURCE_ID_PATTERN,
  SessionTurnSchema,
  Subjects,
  TENANT_ID_PATTERN,
  parseOrThrow,
  parseSessionTurnSubject,
  type SessionSteer,
  type SessionTurn,
} from '@keelson/contracts';
import { DeferError, PoisonMessageError, type MessagingLogger } from '@keelson/messaging';
import { AgentMemory } from '@keelson/memory';
import { metricsRegistry, runWithTenant } from '@keelson/observability';
import { RecentSessions } from './recent-sessions';
import {
  RunLog,
  runLogged,
  settleRunLog,
  type AgentRegistry,
  type EventPublisher,
  type ProviderRegistry,
  type RoutingService,
  type ToolRegistry,
  type UsageMeter,
  countsAgainstVersion,
  pickAgent,
  recordAgentRun,
  refusalError,
  tallyRunCost,
  type RolloutPort,
} from '@keelson/runtime';
import type { BeginTurnResult, HistoryMessage, SessionStore } from '@keelson/state';
import { LeaseLostError, TurnCancelledError, keepLease } from './lease-keeper';
import { SteerInbox } from './steer-inbox';

export const SESSION_AGENT_SOURCE = '/keelson/session-agent';

/** Deliveries of a turn that could not begin (about 3 s at first) between two warnings. */
const WARN_EVERY_DEFERRALS = 10;

/** From this delivery on, a turn may pass a predecessor that was reserved but never published. */
export const SKIP_MISSING_FROM_DELIVERY = 10;

/** What the handler reads of a JetStream message. */
export interface TurnMessage {
  subject: string;
  data: unknown;
  deliveryCount: number;
}

/** How a turn message was settled (acknowledged); deferrals and retries are thrown instead. */
export type TurnResult = 'completed' | 'failed' | 'cancelled' | 'already-done' | 'session-gone' | 'conflict';

export interface TurnHandlerDeps {
  sessions: Pick<SessionStore, 'beginTurn' | 'commitTurn' | 'absorbTurn'>;
  publisher: EventPublisher;
  agents: Pick<AgentRegistry, 'get'> & Partial<Pick<AgentRegistry, 'getVersion'>>;
  /** Kill switches and rollouts (docs/rollouts.md): the version a session's turns run, by session id; none when absent. */
  rollouts?: RolloutPort;
  providers: ProviderRegistry;
  /** The tools agents may call (each agent only those it lists); none when absent. */
  tools?: ToolRegistry;
  /** This process, as the sessions' lease owner. */
  owner: string;
  leaseMs: number;
  /** How often a running turn renews its lease; default a third of leaseMs, so two renewals may fail in a row. */
  leaseRenewMs?: number;
  logger: MessagingLogger;
  /** Budgets and usage records of every model call; unmetered when absent (unit tests). */
  metering?: Pick<UsageMeter, 'forRun'>;
  /** The agent's memory policy: recall before a turn, remember after; none when absent (unit tests). */
  memory?: Pick<AgentMemory, 'contextFor' | 'remember'>;
  /** Model routing (the session pinned per tenant and session) and the exact response cache; none when absent. */
  routing?: Pick<RoutingService, 'forRun'>;
  /** Audit events of each run step; none when absent (unit tests). */
  audit?: AuditSink;
  /** The tenant's guard, in process: input checks and the output filter; none when absent (unit tests). */
  guard?: Pick<InlineGuard, 'forRun'>;
}

/**
 * The wait before a turn that cannot run yet is offered again. Short at first, because the usual reason is
 * a predecessor finishing within milliseconds; longer later, because every deferral is a delivery and the
 * consumer allows 60: 200 ms flat would give up on a turn after 12 s, before the lease of a crashed
 * replica (ackWait, 30 s) even expires. This schedule waits about 65 s in all.
 */
export function turnWaitDelayMs(deliveryCount: number): number {
  return Math.min(2_000, 200 * Math.ceil(Math.max(deliveryCount, 1) / 5));
}

/**
 * Runs the turns of stateful sessions, one at a time per session and in order, with SessionStore's lease
 * (see libs/state/src/session-scripts.ts): begin the turn (or learn why not), run the agent on the history
 * while publishing the run log, then commit the turn's messages. Framework-free; the Nest controller only
 * hands messages in.
 */
export class TurnHandler {
  /** Turns running in this process: the lease owner is the process, so it cannot tell two of its own apart. */
  private readonly running = new Set<string>();
  /** The agent runs in progress here, by `tenant/sessionId`: what a cancel message aborts and a steer message reaches. */
  private readonly active = new Map<string, { turn: number; abort: AbortController; inbox: SteerInbox }>();

  private readonly recent = new RecentSessions();

  constructor(private readonly deps: TurnHandlerDeps) {
    // Sessions also leave the count without a new turn; unref'd, so it never holds the process open.
    setInterval(() => metricsRegistry().gauge('sessionsActive').set({}, this.recent.count()), 15_000).unref();
  }

  /**
   * A later message interrupted the session (Subjects.sessionCancel): aborts its run here if it is one of
   * the turns before `beforeTurn`. Redis holds the same mark, so a missed message only delays the cancel
   * to the next lease renewal. Returns whether a run was aborted.
   */
  cancel(tenant: string, sessionId: string, beforeTurn: number): boolean {
    const run = this.active.get(`${tenant}/${sessionId}`);
    if (!run || run.turn >= beforeTurn || run.abort.signal.aborted) return false;
    run.abort.abort(new TurnCancelledError());
    return true;
  }

  /**
   * A message sent with the `steer` policy (Subjects.sessionSteer): offered to the run here if it is the
   * turn the message was meant for; its loop takes it in at its next step (see SteerInbox). Returns whether
   * it was offered.
   */
  steer(tenant: string, steer: SessionSteer): boolean {
    const run = this.active.get(`${tenant}/${steer.sessionId}`);
    if (!run || run.turn !== steer.into || run.abort.signal.aborted) return false;
    run.inbox.offer(steer);
    return true;
  }

  async handle(msg: TurnMessage): Promise<TurnResult> {
    const { tenant, turn } = parseTurn(msg);
    const key = `${tenant}/${turn.sessionId}/${turn.turn}`;
    if (this.running.has(key)) {
      throw new DeferError(turnWaitDelayMs(msg.deliveryCount), `turn ${turn.turn} is already running in this process`);
    }
    this.running.add(key);
    try {
      return await runWithTenant(tenant, () => this.process(tenant, turn, msg.deliveryCount));
    } finally {
      this.running.delete(key);
    }
  }

  private async process(tenant: string, { sessionId, turn, content, steerInto, apiKeyId, userId, claim }: SessionTurn, deliveryCount: number): Promise<TurnResult> {
    const { sessions, leaseMs, logger } = this.deps;
    const skipMissing = deliveryCount >= SKIP_MISSING_FROM_DELIVERY;
    // The first delivery of a turn the gateway claimed runs as the claim's owner. A redelivery runs as this
    // process: the first delivery may still hold the claim (stalled, or dead until its lease lapses).
    const claimed = claim && deliveryCount === 1 ? claim : undefined;
    const owner = claimed?.owner ?? this.deps.owner;
    // The claim stands in for BEGIN_TURN only while half the lease is left, so the first renewal (a third of
    // the way in) always comes before it could lapse; an older one is read anew, as its owner.
    const begun =
      claimed && claimed.until - Date.now() > leaseMs / 2
        ? beganFromClaim(claimed)
        : await sessions.beginTurn(tenant, sessionId, turn, owner, leaseMs, skipMissing);
    const runLog = (agentId: string, ofTurn = turn) =>
      new RunLog(this.deps.publisher, {
        subject: Subjects.sessionRun(tenant, sessionId, ofTurn),
        tenant,
        runId: `${sessionId}:${ofTurn}`,
        attempt: deliveryCount,
        agentId,
        source: SESSION_AGENT_SOURCE,
        ...(this.deps.audit
          ? { audit: { sink: this.deps.audit, sessionId, ...(apiKeyId ? { actor: { kind: 'api_key' as const, id: apiKeyId } } : {}) } }
          : {}),
      });

    switch (begun.kind) {
      case 'done':
        // Committed already: a redelivery after a crash between commit and ack.
        return 'already-done';
      case 'wait':
      case 'busy':
        // A turn that keeps waiting is a caller waiting: worth an operator's eye long before its timeout.
        if (deliveryCount % WARN_EVERY_DEFERRALS === 0) logger.warn('session turn still cannot begin', { sessionId, turn, reason: begun.kind, deliveries: deliveryCount });
        throw new DeferError(
          turnWaitDelayMs(deliveryCount),
          begun.kind === 'wait' ? `turn ${turn} waits for the turns before it` : `another replica holds session ${sessionId}`,
        );
      case 'gone':
        // Tell a waiting caller now rather than let it time out.
        await runLog('').failed({ code: ErrorCodes.sessionNotFound, message: `session "${sessionId}" does not exist or has expired` });
        return 'session-gone';
      case 'ok':
        break;
    }

    const log = runLog(begun.agentId);
    if (begun.cancelled) {
      // Interrupted while it was queued: it never runs, and the order moves past it.
      return this.cancelled(tenant, sessionId, turn, owner, log);
    }
    const pick = pickAgent(this.deps.agents, this.deps.rollouts, tenant, begun.agentId, sessionId, begun.agentVersion);
    const agent = pick.kind === 'ok' ? pick.agent : undefined;
    if (begun.absorbedInto > 0) {
      // A steer message the run before it took in: that run's reply, already committed, is its reply too.
      const settled = await this.commit(tenant, sessionId, turn, owner, [], 'completed');
      if (settled !== 'completed') return settled;
      await log.completed({
        agentId: begun.agentId,
        model: agent?.model.name ?? '',
        output: begun.history.findLast((m) => m.role === 'assistant')?.content ?? '',
        finishReason: 'stop',
        usage: { inputTokens: 0, outputTokens: 0, totalTokens: 0 },
        steeredInto: `${sessionId}:${begun.absorbedInto}`,
      });
      return settled;
    }
    if (steerInto !== undefined) {
      const reason = `run ${sessionId}:${steerInto} ended (or had turns queued) before its next step could take the message in`;
      await log.policy({ sessionId, turn, policy: 'steer', decision: 'queued', affectedRunId: `${sessionId}:${steerInto}`, reason });
    }
    if (pick.kind === 'refused') {
      // A kill switch: the turn ends failed at once (agent_disabled / tenant_suspended), the order moves on.
      await log.failed(refusalError(pick.error));
      return this.commit(tenant, sessionId, turn, owner, [], 'failed');
    }
    if (!agent) {
      await log.failed({ code: ErrorCodes.agentNotFound, message: `no agent "${begun.agentId}"` });
      return this.commit(tenant, sessionId, turn, owner, [], 'failed');
    }
    const cost = tallyRunCost(
      this.deps.metering?.forRun({
        tenant,
        agentId: agent.id,
        runId: `${sessionId}:${turn}`,
        attempt: deliveryCount,
        sessionId,
        ...(apiKeyId ? { apiKeyId } : {}),
      }),
    );

    const lease = keepLease(
      () => sessions.beginTurn(tenant, sessionId, turn, owner, leaseMs, false),
      this.deps.leaseRenewMs ?? Math.floor(leaseMs / 3),
      (err) => logger.warn('could not renew a session lease', { sessionId, turn, error: err instanceof Error ? err.message : String(err) }),
    );
    const cancel = new AbortController();
    const activeKey = `${tenant}/${sessionId}`;
    const inbox = new SteerInbox({
      sessions,
      tenant,
      sessionId,
      turn,
      owner,
      decide: (steered, decision) => runLog(begun.agentId, steered).policy(decision),
      logger,
      alreadyTaken: begun.steers,
    });
    this.active.set(activeKey, { turn, abort: cancel, inbox });
    metricsRegistry().gauge('turnsRunning').set({}, this.active.size);
    metricsRegistry().gauge('sessionsActive').set({}, this.recent.touch(activeKey));
    const memoryScope = { tenant, ...(userId ? { userId } : {}) };
    let result: Awaited<ReturnType<typeof runLogged>>;
    try {
      const guard = await this.deps.guard?.forRun(tenant, agent.id, { sessionId, runId: `${sessionId}:${turn}` });
      const screen = guard && ((text: string) => guard.checkInput(text, 'memory').allowed);
      const remembered = (await this.deps.memory?.contextFor(memoryScope, agent, content, screen)) ?? [];
      const messages = [...remembered, ...begun.history, ...[content, ...begun.steers].map((m) => ({ role: 'user' as const, content: m }))];
      result = await AgentMemory.withScope(memoryScope, () => runLogged({
        agent,
        messages,
        providers: this.deps.providers,
        tools: this.deps.tools,
        log,
        signal: AbortSignal.any([lease.signal, cancel.signal]),
        interactive: true,
        steering: () => inbox.take(),
        metering: cost.metering,
        ...this.deps.routing?.forRun({ tenant, agentId: agent.id, sessionId, ...(apiKeyId ? { apiKeyId } : {}) }),
        ...(guard ? { guard } : {}),
      }));
    } catch (err) {
      if (err instanceof TurnCancelledError) {
        logger.info('turn interrupted by a later message', { sessionId, turn });
        return await this.cancelled(tenant, sessionId, turn, owner, log);
      }
      if (!(err instanceof LeaseLostError)) throw err;
      logger.warn('turn abandoned: its lease was lost while the agent ran', { sessionId, turn, reason: err.kind });
      if (err.kind === 'gone') {
        await log.failed({ code: ErrorCodes.sessionNotFound, message: err.message });
        return 'session-gone';
      }
      return 'conflict';
    } finally {
      lease.stop();
      if (this.active.get(activeKey)?.abort === cancel) this.active.delete(activeKey);
      metricsRegistry().gauge('turnsRunning').set({}, this.active.size);
    }

    // A failed turn commits no messages but still advances the order: the next turn must not wait forever.
    const messages: HistoryMessage[] = result.ok
      ? [
          ...[content, ...inbox.taken].map((m) => ({ role: 'user' as const, content: m })),
          { role: 'assistant', content: result.outcome.output },
        ]
      : [];
    const settled = await this.commit(tenant, sessionId, turn, owner, messages, result.ok ? 'completed' : 'failed', agent.version);
    // Committed first, announced second: a caller who reads the session after run.completed finds the turn.
    if (settled === 'completed' || settled === 'failed') await settleRunLog(log, result);
    if ((settled === 'completed' || settled === 'failed') && (result.ok || countsAgainstVersion(result.error.code))) {
      await recordAgentRun(this.deps.rollouts, agent, pick.kind === 'ok' ? pick.choice : undefined, result.ok, cost.costMicroUsd());
    }
    // After the reply is out: storing memories never delays it.
    if (settled === 'completed') {
      const userText = [content, ...inbox.taken].join('\n');
      await this.deps.memory?.remember(memoryScope, agent, { userText, sessionId }, `${tenant}:${sessionId}:${turn}:memory`);
    }
    return settled;
  }

  /**
   * An interrupted turn commits no messages (not even the partial reply: the interrupting message replaces
   * it) but advances the order, then ends its run log with run.failed `run_cancelled`.
   */
  private async cancelled(tenant: string, sessionId: string, turn: number, owner: string, log: RunLog): Promise<TurnResult> {
    const settled = await this.commit(tenant, sessionId, turn, owner, [], 'failed');
    if (settled !== 'failed') return settled;
    await log.failed({ code: ErrorCodes.runCancelled, message: `turn ${turn} was interrupted by a later message` });
    return 'cancelled';
  }

  private async commit(
    tenant: string,
    sessionId: string,
    turn: number,
    owner: string,
    messages: HistoryMessage[],
    settled: 'completed' | 'failed',
    agentVersion?: string,
  ): Promise<TurnResult> {
    const committed = await this.deps.sessions.commitTurn(tenant, sessionId, turn, owner, messages, agentVersion);
    if (committed === 'ok') return settled;
    if (committed === 'gone') {
      this.deps.logger.info('session ended while its turn ran; nothing to commit', { sessionId, turn });
      return 'session-gone';
    }
    // Another replica took the turn over (this one stalled past its lease); its commit is the one that counts.
    this.deps.logger.warn('turn not committed: another replica took it over', { sessionId, turn });
    return 'conflict';
  }
}

/** What BEGIN_TURN would have answered for a turn the gateway claimed: a fresh turn, nothing taken in yet. */
function beganFromClaim(claim: NonNullable<SessionTurn['claim']>): BeginTurnResult & { kind: 'ok' } {
  return {
    kind: 'ok',
    agentId: claim.agentId,
    ...(claim.agentVersion ? { agentVersion: claim.agentVersion } : {}),
    history: claim.history,
    cancelled: false,
    absorbedInto: 0,
    steers: [],
  };
}

/** Tenant and session from the subject, the turn from the body; anything malformed can never succeed. */
export function parseTurn(msg: TurnMessage): { tenant: string; turn: SessionTurn } {
  const where = parseSessionTurnSubject(msg.subject);
  if (!where) throw new PoisonMessageError(`not a session turn subject: ${msg.subject}`, ErrorCodes.validationFailed);
  if (!TENANT_ID_PATTERN.test(where.tenant)) {
    throw new PoisonMessageError(`invalid turn subject: tenant "${where.tenant}" is not a tenant id`, ErrorCodes.validationFailed);
  }
  let turn: SessionTurn;
  try {
    turn = parseOrThrow(SessionTurnSchema, msg.data);
  } catch (err) {
    if (err instanceof KeelsonError) throw new PoisonMessageError(`invalid turn: ${err.message}`, err.code);
    throw err;
  }
  if (turn.sessionId !== where.sessionId || !RESOURCE_ID_PATTERN.test(turn.sessionId)) {
    throw new PoisonMessageError(`invalid turn: sessionId: does not match the subject's session`, ErrorCodes.validationFailed);
  }
  return { tenant: where.tenant, turn };
}
