import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { MessagingLogger } from '@keelson/messaging';
import { RolloutControl, RolloutStore, type RolloutRedis } from '@keelson/state';
import { REDIS_CLIENT, SERVICE_LOGGER, SERVICE_NAME } from '../infra/tokens';
import type { RedisClient } from '../infra/redis';

/** Stops the snapshot's timer on shutdown. */
@Injectable()
class RolloutControlLifecycle implements OnApplicationShutdown {
  constructor(@Inject(RolloutControl) private readonly control: RolloutControl) {}

  onApplicationShutdown(): void {
    this.control.stop();
  }
}

/**
 * This replica's view of the kill switches and rollouts (docs/rollouts.md), read from Redis every second,
 * for a runtime module (session-agent's sessions and invokes, task-worker's tasks).
 */
export const rolloutControlProviders: Provider[] = [
  {
    provide: RolloutControl,
    inject: [REDIS_CLIENT, SERVICE_LOGGER, SERVICE_NAME],
    useFactory: async (redis: RedisClient | null, logger: MessagingLogger, service: string) => {
      if (!redis) throw new Error(`${service} needs Redis for rollouts and kill switches: InfraModule was configured without REDIS_URL`);
      const control = new RolloutControl(new RolloutStore(redis as unknown as RolloutRedis), { logger });
      await control.start();
      return control;
    },
  },
  RolloutControlLifecycle,
];
