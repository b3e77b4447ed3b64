import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { rulesFor, type RateLimiter, type RateLimitRule, type RateLimitSettings } from '@keelson/cost';
import type { Principal } from '@keelson/identity';
import { RetryLater } from './invoke-handler';

export interface RateLimitCheck {
  /** Throws RetryLater (429 rate_limited + Retry-After) while a limit of the caller's tenant or key is used up. */
  check(principal: Principal): Promise<void>;
}

/** The gateway's RateLimitGuard over the same Redis counters: the limits hold across functions and gateways alike. */
export function rateLimitCheck(limiter: Pick<RateLimiter, 'check'>, settings: RateLimitSettings): RateLimitCheck {
  return {
    async check(principal) {
      const rules = rulesFor(settings, principal.tenant);
      if (rules.length === 0) return;
      const decision = await limiter.check({ tenant: principal.tenant, apiKeyId: principal.keyId, rules });
      if (decision.allowed) return;
      const seconds = Math.max(1, Math.ceil(decision.retryAfterMs / 1_000));
      throw new RetryLater(new RateLimitedError(decision.limit ?? rules[0]!, seconds), seconds);
    },
  };
}

/** 429 rate_limited naming the limit, in the body the gateway sends (`error.limit`). */
class RateLimitedError extends KeelsonError {
  constructor(
    readonly limit: Pick<RateLimitRule, 'scope' | 'kind' | 'perMinute'>,
    retryAfterSeconds: number,
  ) {
    const who = limit.scope === 'tenant' ? "the tenant's" : "the API key's";
    super(429, ErrorCodes.rateLimited, `${who} limit of ${limit.perMinute} ${limit.kind} per minute is used up; retry after ${retryAfterSeconds} s`);
  }

  override toBody() {
    const body = super.toBody();
    Object.assign(body.error, { limit: { scope: this.limit.scope, kind: this.limit.kind, perMinute: this.limit.perMinute } });
    return body;
  }
}
