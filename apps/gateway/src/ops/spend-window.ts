import type { UsageRecord } from '@keelson/contracts';
import { TimeBuckets, steps } from './time-buckets';

interface Spend {
  costMicroUsd: number;
  tokens: number;
}

export interface SpendSeries {
  tenant: string;
  model: string;
  totalMicroUsd: number;
  totalTokens: number;
  points: Array<{ t: string; costMicroUsd: number; tokens: number }>;
}

/** What a budget of this scope counts: the whole tenant, one agent or one API key. */
export interface BurnScope {
  tenant: string;
  scope: 'tenant' | 'agent' | 'key';
  scopeId?: string | undefined;
}

const SEP = '\u0000';
const burnKey = (b: BurnScope) => [b.tenant, b.scope, b.scopeId ?? ''].join(SEP);

/**
 * Usage records (KEELSON_USAGE) bucketed in time: spend per tenant and model for the dashboard's chart, and
 * per budget scope (tenant, agent, key) for burn rates. Fed by UsageFeed.
 */
export class SpendWindow {
  private readonly byModel = new TimeBuckets<Spend>(() => ({ costMicroUsd: 0, tokens: 0 }), 2_000, `other${SEP}other`);
  private readonly byScope = new TimeBuckets<Spend>(() => ({ costMicroUsd: 0, tokens: 0 }), 5_000, `other${SEP}tenant${SEP}`);
  private readonly seen = new Set<string>();

  add(record: UsageRecord): void {
    const at = Date.parse(record.timestamp);
    const tokens = record.inputTokens + record.outputTokens;
    const add = (cell: Spend) => {
      cell.costMicroUsd += record.costMicroUsd;
      cell.tokens += tokens;
    };
    add(this.byModel.cell(at, `${record.tenant}${SEP}${record.model}`));
    add(this.byScope.cell(at, burnKey({ tenant: record.tenant, scope: 'tenant' })));
    add(this.byScope.cell(at, burnKey({ tenant: record.tenant, scope: 'agent', scopeId: record.agentId })));
    if (record.apiKeyId) add(this.byScope.cell(at, burnKey({ tenant: record.tenant, scope: 'key', scopeId: record.apiKeyId })));
    if (this.seen.size < 10_000) this.seen.add(record.tenant);
  }

  /** Tenants with usage in the feed so far. */
  tenants(): string[] {
    return [...this.seen];
  }

  /** Per tenant and model with any spend or tokens in [from, to), `stepMs` apart, largest spend first. */
  series(from: number, to: number, stepMs: number, tenants?: ReadonlySet<string>): SpendSeries[] {
    const starts = steps(from, to, stepMs);
    const out = new Map<string, SpendSeries>();
    for (const [start, cells] of this.byModel.range(starts[0] ?? from, to)) {
      const i = Math.floor((start - starts[0]!) / stepMs);
      if (i < 0 || i >= starts.length) continue;
      for (const [key, cell] of cells) {
        const [tenant, model] = key.split(SEP) as [string, string];
        if (tenants && !tenants.has(tenant)) continue;
        let series = out.get(key);
        if (!series) {
          series = { tenant, model, totalMicroUsd: 0, totalTokens: 0, points: starts.map((t) => ({ t: new Date(t).toISOString(), costMicroUsd: 0, tokens: 0 })) };
          out.set(key, series);
        }
        series.points[i]!.costMicroUsd += cell.costMicroUsd;
        series.points[i]!.tokens += cell.tokens;
        series.totalMicroUsd += cell.costMicroUsd;
        series.totalTokens += cell.tokens;
      }
    }
    return [...out.values()].sort((a, b) => b.totalMicroUsd - a.totalMicroUsd || b.totalTokens - a.totalTokens);
  }

  /** Micro-USD spent in [from, to) by what one budget counts. */
  spent(scope: BurnScope, from: number, to: number): number {
    const key = burnKey(scope);
    let total = 0;
    for (const [, cells] of this.byScope.range(from, to)) total += cells.get(key)?.costMicroUsd ?? 0;
    return total;
  }
}
