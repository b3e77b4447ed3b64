import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { SessionSteerSchema, Subjects, parseSessionCancelSubject, parseSessionSteerSubject } from '@keelson/contracts';
import { decodeJson, type MessagingLogger } from '@keelson/messaging';
import { NATS_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import type { Msg, NatsConnection, Subscription } from 'nats';
import { TurnHandler } from './turn-handler';

/**
 * Listens (core NATS, every replica: no queue group, since only the replica running a turn can act on it)
 * for the gateway's signals to a running turn and hands them to the turn handler: interrupt requests
 * (`{beforeTurn}` on Subjects.sessionCancel) and steer messages (SessionSteer on Subjects.sessionSteer).
 * Losing one is harmless: a cancel's Redis mark reaches the turn at its next lease renewal, and a steer
 * message that never arrives runs as a queued turn.
 */
@Injectable()
export class SessionSignals implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly subscriptions: Subscription[] = [];

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
    private readonly turns: TurnHandler,
  ) {}

  onApplicationBootstrap(): void {
    this.listen(Subjects.allSessionCancels, (msg) => {
      const where = parseSessionCancelSubject(msg.subject);
      const beforeTurn = (decodeJson(msg.data) as { beforeTurn?: unknown }).beforeTurn;
      if (!where || typeof beforeTurn !== 'number') return false;
      this.turns.cancel(where.tenant, where.sessionId, beforeTurn);
      return true;
    });
    this.listen(Subjects.allSessionSteers, (msg) => {
      const where = parseSessionSteerSubject(msg.subject);
      const steer = SessionSteerSchema.safeParse(decodeJson(msg.data));
      if (!where || !steer.success || steer.data.sessionId !== where.sessionId) return false;
      this.turns.steer(where.tenant, steer.data);
      return true;
    });
  }

  beforeApplicationShutdown(): void {
    for (const subscription of this.subscriptions) subscription.unsubscribe();
  }

  /** `handle` returns false for a malformed signal, which is logged and dropped. */
  private listen(subject: string, handle: (msg: Msg) => boolean): void {
    const subscription = this.nats.subscribe(subject, {
      callback: (err, msg) => {
        if (err) return;
        let ok: boolean;
        try {
          ok = handle(msg);
        } catch {
          ok = false;
        }
        if (!ok) this.logger.warn('ignored a malformed session signal', { subject: msg.subject });
      },
    });
    this.subscriptions.push(subscription);
  }
}
