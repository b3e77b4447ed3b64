import { LuaScript, type RedisScripting } from '@keelson/state';
import { RATE_LIMIT } from './rate-limit-script';

/** One limit: requests or tokens per minute, of a tenant or of one of its API keys. */
export interface RateLimitRule {
  scope: 'tenant' | 'key';
  kind: 'requests' | 'tokens';
  perMinute: number;
}

/** The limits that apply to a caller: the tenant's and, when the call came with an API key, the key's. */
export interface RateLimitSubject {
  tenant: string;
  apiKeyId?: string;
  rules: readonly RateLimitRule[];
}

export interface RateLimitDecision {
  allowed: boolean;
  /** How long until the request would be allowed (the Retry-After header, rounded up to seconds). 0 when allowed. */
  retryAfterMs: number;
  /** The binding limit: the one that refused, or the one with the least room left. */
  limit?: RateLimitRule;
  /** Units of the binding limit still available now (0 when refused). */
  remaining: number;
}

const PERIOD_MS = 60_000;
const script = new LuaScript(RATE_LIMIT);

/**
 * Requests-per-minute and tokens-per-minute limits shared by every replica: all limits of a call are checked
 * and charged in one Lua script (GCRA), so concurrent replicas cannot both take the last unit. Keys carry the
 * `{tenant}` hash tag (one Cluster slot); a key lives only as long as its limit has something to forget.
 */
export class RateLimiter {
  private readonly prefix: string;

  constructor(private readonly redis: RedisScripting, options: { keyPrefix?: string } = {}) {
    this.prefix = options.keyPrefix ?? 'keelson:rate';
  }

  /**
   * At request time: takes one request from every requests rule, and refuses while a tokens rule has used up
   * its minute (tokens are charged afterwards with `consumeTokens`, when the real count is known).
   */
  async check(subject: RateLimitSubject): Promise<RateLimitDecision> {
    const rules = this.applicable(subject);
    return this.run(subject, rules, rules.map((r) => ({ cost: r.kind === 'requests' ? 1 : 0, mode: 'check' as const })));
  }

  /** After the call: charges the tokens it really used to every tokens rule, even into debt. */
  async consumeTokens(subject: RateLimitSubject, tokens: number): Promise<RateLimitDecision> {
    const rules = this.applicable(subject).filter((r) => r.kind === 'tokens');
    return this.run(subject, rules, rules.map(() => ({ cost: Math.max(0, Math.ceil(tokens)), mode: 'charge' as const })));
  }

  private applicable(subject: RateLimitSubject): RateLimitRule[] {
    return subject.rules.filter((r) => r.perMinute > 0 && (r.scope === 'tenant' || subject.apiKeyId));
  }

  private key(subject: RateLimitSubject, rule: RateLimitRule): string {
    const who = rule.scope === 'tenant' ? 'tenant' : `key:${subject.apiKeyId}`;
    return `${this.prefix}:{${subject.tenant}}:${who}:${rule.kind}`;
  }

  private async run(subject: RateLimitSubject, rules: RateLimitRule[], charges: { cost: number; mode: 'check' | 'charge' }[]): Promise<RateLimitDecision> {
    if (rules.length === 0) return { allowed: true, retryAfterMs: 0, remaining: Number.POSITIVE_INFINITY };
    const args: (string | number)[] = [PERIOD_MS];
    rules.forEach((rule, i) => args.push(rule.perMinute, charges[i]!.cost, charges[i]!.mode));
    const [allowed, retryAfterMs, binding, remaining] = (await script.run(this.redis, rules.map((r) => this.key(subject, r)), args)) as number[];
    return { allowed: allowed === 1, retryAfterMs: retryAfterMs!, limit: rules[binding! - 1], remaining: remaining! };
  }
}
