import { LuaScript, type RedisScripting } from '@keelson/state';

/** Counters live this long after their day, so a month's report can always be read. */
const KEEP_SECONDS = 40 * 24 * 3600;

const COUNT = new LuaScript(`
for i = 1, #ARGV - 1 do redis.call('HINCRBY', KEYS[1], ARGV[i], 1) end
redis.call('EXPIRE', KEYS[1], ARGV[#ARGV])
return 1
`);

/** One routing decision, as counted: its tier, reasons, and whether a pin or the budget decided it. */
export interface CountedDecision {
  tier: string;
  reasons: readonly string[];
  pinned: boolean;
  downgraded: boolean;
}

/** Counts per tier and per reason (and pinned / downgraded) of a tenant's routing decisions over some days. */
export interface RoutingCounts {
  decisions: number;
  byTier: Record<string, number>;
  byReason: Record<string, number>;
  pinned: number;
  downgraded: number;
}

/**
 * Routing decisions counted by tier and reason, per tenant and UTC day, for operators (`GET /v1/usage`
 * returns them). One HINCRBY script per decision, on a hash with the `{tenant}` hash tag. Reasons that carry
 * a number (`budget_low:17pct`) are counted without it, so the set of fields stays small.
 */
export class RoutingTally {
  private readonly prefix: string;

  constructor(
    private readonly redis: RedisScripting & { hGetAll(key: string): Promise<Record<string, string>> },
    options: { keyPrefix?: string } = {},
  ) {
    this.prefix = options.keyPrefix ?? 'keelson:routing';
  }

  async count(tenant: string, decision: CountedDecision, at = new Date()): Promise<void> {
    const fields = ['decisions', `tier:${decision.tier}`, ...decision.reasons.map((r) => `reason:${reasonKind(r)}`)];
    if (decision.pinned) fields.push('pinned');
    if (decision.downgraded) fields.push('downgraded');
    await COUNT.run(this.redis, [this.key(tenant, at)], [...fields, KEEP_SECONDS]);
  }

  /** The counts of the UTC days from `from` to `to`, both included (at most 62 days). */
  async read(tenant: string, from: Date, to: Date): Promise<RoutingCounts> {
    const counts: RoutingCounts = { decisions: 0, byTier: {}, byReason: {}, pinned: 0, downgraded: 0 };
    const day = new Date(Date.UTC(from.getUTCFullYear(), from.getUTCMonth(), from.getUTCDate()));
    for (let n = 0; day <= to && n < 62; n++, day.setUTCDate(day.getUTCDate() + 1)) {
      const hash = await this.redis.hGetAll(this.key(tenant, day));
      for (const [field, raw] of Object.entries(hash)) add(counts, field, Number(raw));
    }
    return counts;
  }

  private key(tenant: string, at: Date): string {
    return `${this.prefix}:{${tenant}}:${at.toISOString().slice(0, 10)}`;
  }
}

function add(counts: RoutingCounts, field: string, n: number): void {
  if (field === 'decisions') counts.decisions += n;
  else if (field === 'pinned') counts.pinned += n;
  else if (field === 'downgraded') counts.downgraded += n;
  else if (field.startsWith('tier:')) counts.byTier[field.slice(5)] = (counts.byTier[field.slice(5)] ?? 0) + n;
  else if (field.startsWith('reason:')) counts.byReason[field.slice(7)] = (counts.byReason[field.slice(7)] ?? 0) + n;
}

const reasonKind = (reason: string): string => reason.replace(/:\d+pct$/, '');
