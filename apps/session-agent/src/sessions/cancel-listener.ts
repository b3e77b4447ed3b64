import { Inject, Injectable, type BeforeApplicationShutdown, type OnApplicationBootstrap } from '@nestjs/common';
import { Subjects, parseSessionCancelSubject } from '@keelson/contracts';
import { decodeJson, type MessagingLogger } from '@keelson/messaging';
import { NATS_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import type { NatsConnection, Subscription } from 'nats';
import { TurnHandler } from './turn-handler';

/**
 * Listens (core NATS, every replica: no queue group, since only the replica running the turn can abort it)
 * for the gateway's interrupt requests, `{beforeTurn}` on Subjects.sessionCancel, and hands them to the turn
 * handler. Losing one is harmless: the Redis mark reaches the running turn at its next lease renewal.
 */
@Injectable()
export class CancelListener implements OnApplicationBootstrap, BeforeApplicationShutdown {
  private subscription?: Subscription;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
    private readonly turns: TurnHandler,
  ) {}

  onApplicationBootstrap(): void {
    this.subscription = this.nats.subscribe(Subjects.allSessionCancels, {
      callback: (err, msg) => {
        if (err) return;
        const where = parseSessionCancelSubject(msg.subject);
        let beforeTurn: unknown;
        try {
          beforeTurn = (decodeJson(msg.data) as { beforeTurn?: unknown }).beforeTurn;
        } catch {
          beforeTurn = undefined;
        }
        if (!where || typeof beforeTurn !== 'number') {
          this.logger.warn('ignored a malformed session cancel', { subject: msg.subject });
          return;
        }
        this.turns.cancel(where.tenant, where.sessionId, beforeTurn);
      },
    });
  }

  beforeApplicationShutdown(): void {
    this.subscription?.unsubscribe();
  }
}
