import {
  ErrorCodes,
  EventTypes,
  KeelsonError,
  Subjects,
  createEvent,
  type ConcurrencyPolicy,
  type SessionPolicyDecision,
  type SessionSteer,
  type SessionTurn,
} from '@keelson/contracts';
import { encodeJson, type JetStreamPublisher, type MessagingLogger } from '@keelson/messaging';
import type { SessionStore } from '@keelson/state';
import type { NatsConnection } from 'nats';
import type { AgentCatalog } from '../agents/agent-catalog';
import type { BudgetGate } from '../cost/budget-gate';
import { isTerminal, readRunLog, type LoggedFrame } from '../run-log/run-log-reader';

/** Kept here too for callers that decode run events themselves; the run-log reader owns them. */
export { frameOf, isTerminal, type RunEventFrame } from '../run-log/run-log-reader';

export const GATEWAY_SOURCE = '/keelson/gateway';

export interface TurnInFlight {
  turn: number;
  /** Events of this turn in order, each with its run-log sequence, ending after run.completed or run.failed. */
  events: AsyncIterable<LoggedFrame>;
  /** Stops listening (the turn itself still runs to completion on its owner). */
  cancel(): void;
}

/**
 * Queues a session turn on JetStream for the session's owner and relays its run events back from the run
 * log. The turn's subject is new (its number was just reserved), so reading that subject from the start of
 * the log sees every event of the turn, whenever the read begins, and each comes with the sequence a client
 * can resume from (GET /v1/sessions/{id}/events with Last-Event-ID).
 *
 * A message that finds the session busy (a turn reserved and not done) is handled by its concurrency policy,
 * the request's `onBusy` or else the agent's `concurrency`, decided atomically in RESERVE_TURN: `enqueue`
 * queues it, `reject` refuses it (409 session_busy naming the running run), `interrupt` queues it and
 * cancels the turns before it (Redis marks, plus a core-NATS nudge to the replica running one), `steer` queues
 * it and offers it over core NATS to the replica running the busy turn, whose loop may take it in at its
 * next step (the session-agent decides, and logs `steered` or `queued`). Each decision is a
 * `session.policy` event on the run log.
 */
export class TurnRelay {
  constructor(
    private readonly nats: NatsConnection,
    private readonly publisher: JetStreamPublisher,
    private readonly sessions: SessionStore,
    private readonly options: {
      turnTimeoutMs: number;
      publishTimeoutMs: number;
      agents?: Pick<AgentCatalog, 'concurrencyOf' | 'anyConcurrencyBesidesEnqueue'>;
      /**
       * The runner's lease length: RESERVE_TURN takes it for a turn that finds its session idle, which
       * spares the runner a read (docs/architecture.md, "Session turns"). Absent: never claimed.
       */
      claimLeaseMs?: number;
      /** The budget pre-check, run once the turn's agent is known (RESERVE_TURN returns it). */
      budgets?: Pick<BudgetGate, 'check'>;
      logger?: MessagingLogger;
    },
  ) {}

  async send(tenant: string, sessionId: string, content: string, onBusy?: ConcurrencyPolicy, apiKeyId?: string): Promise<TurnInFlight> {
    const policy = onBusy ?? (await this.defaultPolicy(tenant, sessionId));
    const reserved = await this.sessions.reserveTurn(tenant, sessionId, policy, { claimLeaseMs: this.options.claimLeaseMs ?? 0 });
    if (!reserved) throw new KeelsonError(404, ErrorCodes.sessionNotFound, `no session "${sessionId}"`, 'sessionId');
    const runningRunId = `${sessionId}:${reserved.running}`;
    if (reserved.kind === 'rejected') {
      // The rejected message has no turn: its decision goes on the log of the run it was refused for.
      await this.decide(tenant, reserved.running, { sessionId, policy, decision: 'rejected', affectedRunId: runningRunId });
      throw new KeelsonError(
        409,
        ErrorCodes.sessionBusy,
        `session "${sessionId}" is running ${runningRunId}; this message was rejected (onBusy: reject)`,
        undefined,
        undefined,
        runningRunId,
      );
    }
    const { turn } = reserved;
    try {
      await this.options.budgets?.check(tenant, reserved.agentId, apiKeyId);
    } catch (err) {
      // Refused: the turns after this one must not wait for it.
      await this.sessions.abandonTurn(tenant, sessionId, turn).catch(() => undefined);
      throw err;
    }
    const steerInto = policy === 'steer' && reserved.running > 0 ? reserved.running : undefined;
    if (reserved.running > 0 && policy !== 'steer') {
      const decision = policy === 'interrupt' ? 'interrupted' : 'queued';
      await this.decide(tenant, turn, { sessionId, turn, policy, decision, affectedRunId: runningRunId });
      if (policy === 'interrupt') this.nats.publish(Subjects.sessionCancel(tenant, sessionId), encodeJson({ sessionId, beforeTurn: turn }));
    }
    try {
      // Commands (turns, tasks) travel as plain JSON with the tenant in the subject; events are CloudEvents.
      const claim = reserved.claim && { ...reserved.claim, agentId: reserved.agentId };
      const command: SessionTurn = { sessionId, turn, content, onBusy: policy, ...(steerInto ? { steerInto } : {}), ...(apiKeyId ? { apiKeyId } : {}),
        ...(reserved.userId ? { userId: reserved.userId } : {}),
        ...(claim ? { claim } : {}),
      };
      await this.publisher.publish(Subjects.sessionTurn(tenant, sessionId), command, {
        msgId: `${tenant}:${sessionId}:${turn}`,
        timeoutMs: this.options.publishTimeoutMs,
      });
    } catch (err) {
      // The turns after this one must not wait for it; if even this fails, they pass it once it is old enough.
      await this.sessions.abandonTurn(tenant, sessionId, turn).catch(() => undefined);
      this.options.logger?.warn('a session turn could not be queued', { error: (err as Error).message });
      throw new KeelsonError(503, ErrorCodes.unavailable, 'the turn could not be queued: the message bus did not confirm it in time; retry');
    }
    if (steerInto) {
      // Offered only once the turn is durable, so a message the running loop takes in can never be lost.
      const steer: SessionSteer = { sessionId, turn, into: steerInto, content };
      this.nats.publish(Subjects.sessionSteer(tenant, sessionId), encodeJson(steer));
    }
    const abort = new AbortController();
    return {
      turn,
      events: this.relay(Subjects.sessionRun(tenant, sessionId, turn), turn, abort),
      cancel: () => abort.abort(),
    };
  }

  /** The session agent's policy, looked up only when some agent has one other than enqueue. */
  private async defaultPolicy(tenant: string, sessionId: string): Promise<ConcurrencyPolicy> {
    const agents = this.options.agents;
    if (!agents?.anyConcurrencyBesidesEnqueue()) return 'enqueue';
    const agentId = await this.sessions.agentOf(tenant, sessionId);
    return agentId ? agents.concurrencyOf(agentId) : 'enqueue';
  }

  /**
   * Writes a policy decision on the run log of `turn`. Best effort: the decision is already made in Redis,
   * and a run log that cannot be written must not turn it into a failed request.
   */
  private async decide(tenant: string, turn: number, data: SessionPolicyDecision): Promise<void> {
    const id = `${tenant}:${data.sessionId}:${turn}:policy:${data.decision}:${data.turn ?? 'none'}`;
    const event = createEvent({ id, type: EventTypes.sessionPolicy, source: GATEWAY_SOURCE, tenant, subject: `${data.sessionId}:${turn}`, data });
    try {
      await this.publisher.publish(Subjects.sessionRun(tenant, data.sessionId, turn), event, {
        msgId: data.decision === 'rejected' ? undefined : id,
        timeoutMs: this.options.publishTimeoutMs,
      });
    } catch (err) {
      this.options.logger?.warn('could not log a session policy decision', { sessionId: data.sessionId, turn, error: (err as Error).message });
    }
  }

  private async *relay(subject: string, turn: number, abort: AbortController): AsyncGenerator<LoggedFrame> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.options.turnTimeoutMs);
    try {
      for await (const frame of readRunLog(this.nats, subject, {}, abort.signal, this.options.logger)) {
        yield frame;
        if (isTerminal(frame.name)) return;
      }
      if (timedOut) {
        throw new KeelsonError(
          504,
          ErrorCodes.timeout,
          `turn ${turn} did not finish within ${this.options.turnTimeoutMs} ms; it stays queued and its reply will appear in the session`,
        );
      }
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  }
}
