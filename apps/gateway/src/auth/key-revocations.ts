import { Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import { ApiKeyRevokedSchema, Subjects } from '@keelson/contracts';
import { Authenticator } from '@keelson/identity';
import { decodeJson, encodeJson, type MessagingLogger } from '@keelson/messaging';
import { NATS_CONNECTION, SERVICE_LOGGER } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';

/**
 * Makes a revocation immediate on every gateway replica: the replica that revokes a key forgets it and tells
 * the others over core NATS, and each forgets its cached verification of it. A replica that misses the
 * message (reconnecting at that moment) still stops trusting the key within AUTH_CACHE_MS, when it asks
 * Redis again.
 */
@Injectable()
export class KeyRevocations implements OnApplicationBootstrap {
  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Inject(Authenticator) private readonly authenticator: Authenticator,
    @Inject(SERVICE_LOGGER) private readonly logger: MessagingLogger,
  ) {}

  onApplicationBootstrap(): void {
    this.nats.subscribe(Subjects.apiKeyRevoked, {
      callback: (err, msg) => {
        if (err) return;
        try {
          this.authenticator.forget(ApiKeyRevokedSchema.parse(decodeJson(msg.data)).keyId);
        } catch {
          this.logger.warn('ignored a malformed key revocation message', { subject: Subjects.apiKeyRevoked });
        }
      },
    });
  }

  /** Stops trusting `keyId` here at once, and on the other replicas as soon as the message reaches them. */
  async announce(keyId: string): Promise<void> {
    this.authenticator.forget(keyId);
    this.nats.publish(Subjects.apiKeyRevoked, encodeJson({ keyId }));
    // Flushed before the answer: when the admin sees "revoked", the other replicas have been told.
    await this.nats.flush();
  }
}
