import {
  ErrorCodes,
  EventTypes,
  KeelsonError,
  RunEventNames,
  Subjects,
  type CloudEvent,
  type SessionTurn,
} from '@keelson/contracts';
import { decodeJson, type JetStreamPublisher } from '@keelson/messaging';
import type { SessionStore } from '@keelson/state';
import type { NatsConnection, Subscription } from 'nats';

export interface RunEventFrame {
  /** SSE event name: run.started, run.delta, run.completed, run.failed. */
  name: string;
  event: CloudEvent;
}

export interface TurnInFlight {
  turn: number;
  /** Events of this turn in order, ending after run.completed or run.failed. */
  events: AsyncIterable<RunEventFrame>;
  /** Stops listening (the turn itself still runs to completion on its owner). */
  cancel(): void;
}

const namesByType: Record<string, string> = {
  [EventTypes.runStarted]: RunEventNames.started,
  [EventTypes.runDelta]: RunEventNames.delta,
  [EventTypes.runCompleted]: RunEventNames.completed,
  [EventTypes.runFailed]: RunEventNames.failed,
};

export const isTerminal = (name: string): boolean => name === RunEventNames.completed || name === RunEventNames.failed;

export function frameOf(event: CloudEvent): RunEventFrame | undefined {
  const name = namesByType[event.type];
  return name ? { name, event } : undefined;
}

/**
 * Queues a session turn on JetStream for the session's owner and relays its run events back.
 * The subscription to the turn's run subject is made before the turn is published, so no event can be
 * missed between the two.
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
    const subscription = this.nats.subscribe(Subjects.sessionRun(tenant, sessionId, turn));
    try {
      // Commands (turns, tasks) travel as plain JSON with the tenant in the subject; events are CloudEvents.
      const command: SessionTurn = { sessionId, turn, content };
      await this.publisher.publish(Subjects.sessionTurn(tenant, sessionId), command, {
        msgId: `${tenant}:${sessionId}:${turn}`,
        timeoutMs: this.options.publishTimeoutMs,
      });
    } catch (err) {
      subscription.unsubscribe();
      // The turns after this one must not wait for it; if even this fails, they pass it once it is old enough.
      await this.sessions.abandonTurn(tenant, sessionId, turn).catch(() => undefined);
      throw new KeelsonError(503, ErrorCodes.unavailable, `the turn could not be queued: ${(err as Error).message}`);
    }
    return { turn, events: this.relay(subscription, turn), cancel: () => subscription.unsubscribe() };
  }

  private async *relay(subscription: Subscription, turn: number): AsyncGenerator<RunEventFrame> {
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      subscription.unsubscribe();
    }, this.options.turnTimeoutMs);
    try {
      for await (const message of subscription) {
        const frame = frameOf(decodeJson(message.data) as CloudEvent);
        if (!frame) continue;
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
      subscription.unsubscribe();
    }
  }
}
