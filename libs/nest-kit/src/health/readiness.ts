import { Inject, Injectable, Optional } from '@nestjs/common';
import type { NatsConnection } from 'nats';
import type { RedisClient } from '../infra/redis';
import { NATS_CONNECTION, NATS_RESPONDER_CONNECTION, REDIS_CLIENT } from '../infra/tokens';

export type ReadinessCheck = () => Promise<void>;

const CHECK_TIMEOUT_MS = 2_000;

function withTimeout(check: ReadinessCheck): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
    check().then(resolve, reject).finally(() => clearTimeout(timer));
  });
}

/** Readiness is the conjunction of named checks; NATS and Redis (when used) are always among them. */
@Injectable()
export class Readiness {
  private readonly checks = new Map<string, ReadinessCheck>();
  private draining = false;

  constructor(
    @Inject(NATS_CONNECTION) nats: NatsConnection,
    @Inject(REDIS_CLIENT) redis: RedisClient | null,
    @Inject(NATS_RESPONDER_CONNECTION) @Optional() responder?: NatsConnection,
  ) {
    const reachable = (nc: NatsConnection) => async () => {
      if (nc.isClosed()) throw new Error('connection closed');
      await nc.rtt();
    };
    this.register('nats', reachable(nats));
    if (responder && responder !== nats) this.register('nats-responder', reachable(responder));
    if (redis) {
      this.register('redis', async () => {
        if (!redis.isReady) throw new Error('not connected');
        await redis.ping();
      });
    }
  }

  register(name: string, check: ReadinessCheck): void {
    this.checks.set(name, check);
  }

  /** The service is shutting down: from now on it reports not ready, whatever its dependencies say. */
  drain(): void {
    this.draining = true;
  }

  async report(): Promise<{ ready: boolean; checks: Record<string, string> }> {
    if (this.draining) return { ready: false, checks: { shutdown: 'draining' } };
    const names = [...this.checks.keys()];
    const results = await Promise.allSettled(names.map((name) => withTimeout(this.checks.get(name)!)));
    const checks: Record<string, string> = {};
    results.forEach((result, i) => {
      checks[names[i]!] = result.status === 'fulfilled' ? 'ok' : String((result.reason as Error)?.message ?? result.reason);
    });
    return { ready: results.every((r) => r.status === 'fulfilled'), checks };
  }
}
