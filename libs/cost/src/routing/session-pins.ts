import type { RedisStrings } from '../redis-strings';
import type { RoutingCandidate } from './routing-policy';

/**
 * Which model a session is pinned to, in Redis so every replica sends the session's next turn to the same
 * provider and model (its prompt cache stays warm). Pin after a call succeeds (also after a fallback: the
 * model that answered becomes the pin); the pin expires with the session's idle time.
 */
export class SessionPins {
  private readonly prefix: string;

  constructor(private readonly redis: RedisStrings, private readonly options: { ttlSeconds: number; keyPrefix?: string }) {
    this.prefix = options.keyPrefix ?? 'keelson:route-pin';
  }

  private key(tenant: string, sessionId: string): string {
    return `${this.prefix}:{${tenant}}:${sessionId}`;
  }

  async get(tenant: string, sessionId: string): Promise<RoutingCandidate | undefined> {
    const raw = await this.redis.get(this.key(tenant, sessionId));
    if (!raw) return undefined;
    const { provider, model } = JSON.parse(raw) as RoutingCandidate;
    return { provider, model };
  }

  /** Pins (or re-pins) a session to the model that just served it, and restarts the pin's expiry. */
  async pin(tenant: string, sessionId: string, candidate: RoutingCandidate): Promise<void> {
    const value = JSON.stringify({ provider: candidate.provider, model: candidate.model });
    await this.redis.set(this.key(tenant, sessionId), value, { expiration: { type: 'EX', value: this.options.ttlSeconds } });
  }

  /** Forgets the pin, e.g. when the session ends or the pinned model keeps failing. */
  async unpin(tenant: string, sessionId: string): Promise<void> {
    await this.redis.del(this.key(tenant, sessionId));
  }
}
