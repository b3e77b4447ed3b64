import { ErrorCodes, KeelsonError, Subjects, type SessionTurn } from '@keelson/contracts';
import type { JetStreamPublisher } from '@keelson/messaging';
import type { SessionStore } from '@keelson/state';
import type { NatsConnection } from 'nats';
import { isTerminal, readRunLog, type LoggedFrame } from '../run-log/run-log-reader';

/** Kept here too for callers that decode run events themselves; the run-log reader owns them. */
export { frameOf, isTerminal, type RunEventFrame } from '../run-log/run-log-reader';

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
 */
export class TurnRelay {
  constructor(
    private readonly nats: NatsConnection,
    private readonly publisher: JetStreamPublisher,
    private readonly sessions: SessionStore,
    private readonly options: { turnTimeoutMs: number; publishTimeoutMs: number },
  ) {}

  async send(tenant: string, sessionId: string, content: string): Promise<TurnInFlight> {
    const reserved = await this.sessions.reserveTurn(tenant, sessionId);
    if (!reserved) throw new KeelsonError(404, ErrorCodes.sessionNotFound, `no session "${sessionId}"`, 'sessionId');
    const { turn } = reserved;
    try {
      // Commands (turns, tasks) travel as plain JSON with the tenant in the subject; events are CloudEvents.
      const command: SessionTurn = { sessionId, turn, content };
      await this.publisher.publish(Subjects.sessionTurn(tenant, sessionId), command, {
        msgId: `${tenant}:${sessionId}:${turn}`,
        timeoutMs: this.options.publishTimeoutMs,
      });
    } catch (err) {
      // The turns after this one must not wait for it; if even this fails, they pass it once it is old enough.
      await this.sessions.abandonTurn(tenant, sessionId, turn).catch(() => undefined);
      throw new KeelsonError(503, ErrorCodes.unavailable, `the turn could not be queued: ${(err as Error).message}`);
    }
    const abort = new AbortController();
    return {
      turn,
      events: this.relay(Subjects.sessionRun(tenant, sessionId, turn), turn, abort),
      cancel: () => abort.abort(),
    };
  }

  private async *relay(subject: string, turn: number, abort: AbortController): AsyncGenerator<LoggedFrame> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      abort.abort();
    }, this.options.turnTimeoutMs);
    try {
      for await (const frame of readRunLog(this.nats, subject, {}, abort.signal)) {
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
