import { Inject, Injectable, type OnApplicationShutdown, type Provider } from '@nestjs/common';
import type { MessagingLogger } from '@keelson/messaging';
import { REDIS_CLIENT, SERVICE_LOGGER, type RedisClient } from '@keelson/nest-kit';
import { RolloutControl, RolloutStore, type RolloutRedis } from '@keelson/state';

/** This replica's view of the kill switches and rollouts (docs/rollouts.md), read from Redis every second. */
export const rolloutControlProvider: Provider = {
  provide: RolloutControl,
  inject: [REDIS_CLIENT, SERVICE_LOGGER],
  useFactory: async (redis: RedisClient | null, logger: MessagingLogger) => {
    if (!redis) throw new Error('the task-worker needs Redis: InfraModule was configured without REDIS_URL');
    const control = new RolloutControl(new RolloutStore(redis as unknown as RolloutRedis), { logger });
    await control.start();
    return control;
  },
};

/** Stops the snapshot's timer on shutdown. */
@Injectable()
export class RolloutControlLifecycle implements OnApplicationShutdown {
  constructor(@Inject(RolloutControl) private readonly control: RolloutControl) {}

  onApplicationShutdown(): void {
    this.control.stop();
  }
}
