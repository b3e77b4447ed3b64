import type { SessionPolicyDecision, SessionSteer } from '@keelson/contracts';
import type { MessagingLogger } from '@keelson/messaging';
import type { SessionStore } from '@keelson/state';

export interface SteerInboxInit {
  sessions: Pick<SessionStore, 'absorbTurn'>;
  tenant: string;
  sessionId: string;
  /** The running turn, whose loop reads the inbox. */
  turn: number;
  owner: string;
  /** Writes a decision on the run log of the steered turn. */
  decide: (turn: number, decision: SessionPolicyDecision) => Promise<void>;
  logger: MessagingLogger;
  /** Messages this turn's run took in on an earlier attempt (BEGIN_TURN's `steers`). */
  alreadyTaken?: string[];
}

/**
 * The `steer` policy inside the session-agent: messages offered to the running turn (Subjects.sessionSteer)
 * wait here until the agent loop asks for them between steps. Each is taken in only when
 * SessionStore.absorbTurn agrees (this replica still holds the lease, turns stay in order, none was
 * interrupted); one it refuses stays for the next step, since the turn before it may simply not have
 * arrived yet. Whatever is never taken runs as a queued turn of its own.
 */
export class SteerInbox {
  private offered: SessionSteer[] = [];
  /** Every message this run took in, in turn order: they join the session's history with its reply. */
  readonly taken: string[];

  constructor(private readonly init: SteerInboxInit) {
    this.taken = [...(init.alreadyTaken ?? [])];
  }

  offer(steer: SessionSteer): void {
    if (this.offered.some((s) => s.turn === steer.turn)) return;
    this.offered = [...this.offered, steer].sort((a, b) => a.turn - b.turn);
  }

  /** The agent loop's `steering` callback. */
  async take(): Promise<string[]> {
    const { sessions, tenant, sessionId, turn, owner } = this.init;
    const fresh: string[] = [];
    while (this.offered.length > 0) {
      const next = this.offered[0]!;
      if (!(await sessions.absorbTurn(tenant, sessionId, turn, next.turn, owner, next.content))) break;
      this.offered.shift();
      fresh.push(next.content);
      this.taken.push(next.content);
      await this.init
        .decide(next.turn, { sessionId, turn: next.turn, policy: 'steer', decision: 'steered', affectedRunId: `${sessionId}:${turn}` })
        .catch((err: unknown) => this.init.logger.warn('could not log a steer decision', { sessionId, turn: next.turn, error: (err as Error).message }));
    }
    return fresh;
  }
}
