import type { UsageRecord } from '@keelson/contracts';

/** Sums over a set of usage records; cost in integer micro-USD, and in USD for reading. */
export interface UsageSums {
  calls: number;
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens: number;
  costMicroUsd: number;
  costUsd: number;
  /** Calls whose token counts came from a local tokenizer (the provider reported none). */
  estimatedCalls: number;
  /** Calls to a model the price table does not know: counted at cost 0, which must not be trusted. */
  unpricedCalls: number;
}

export interface UsageTotals extends UsageSums {
  /** Keyed `provider/model`. */
  byModel: Record<string, UsageSums>;
  byAgent: Record<string, UsageSums>;
}

const emptySums = (): UsageSums => ({
  calls: 0,
  inputTokens: 0,
  outputTokens: 0,
  cachedInputTokens: 0,
  costMicroUsd: 0,
  costUsd: 0,
  estimatedCalls: 0,
  unpricedCalls: 0,
});

function add(sums: UsageSums, record: UsageRecord): void {
  sums.calls += 1;
  sums.inputTokens += record.inputTokens;
  sums.outputTokens += record.outputTokens;
  sums.cachedInputTokens += record.cachedInputTokens;
  sums.costMicroUsd += record.costMicroUsd;
  // From the integer sum each time, so the USD figure has no accumulated float drift.
  sums.costUsd = sums.costMicroUsd / 1_000_000;
  if (record.estimated) sums.estimatedCalls += 1;
  if (record.unpriced) sums.unpricedCalls += 1;
}

/** Accumulates usage records into totals, per model (`provider/model`) and per agent. */
export class UsageTotalsBuilder {
  private readonly all = emptySums();
  private readonly byModel = new Map<string, UsageSums>();
  private readonly byAgent = new Map<string, UsageSums>();

  add(record: UsageRecord): void {
    add(this.all, record);
    add(entry(this.byModel, `${record.provider}/${record.model}`), record);
    add(entry(this.byAgent, record.agentId), record);
  }

  totals(): UsageTotals {
    // Object.fromEntries defines own properties, so a model named "__proto__" is just a key.
    return { ...this.all, byModel: Object.fromEntries(this.byModel), byAgent: Object.fromEntries(this.byAgent) };
  }
}

function entry(map: Map<string, UsageSums>, key: string): UsageSums {
  let sums = map.get(key);
  if (!sums) map.set(key, (sums = emptySums()));
  return sums;
}

export function totalsOf(records: Iterable<UsageRecord>): UsageTotals {
  const builder = new UsageTotalsBuilder();
  for (const record of records) builder.add(record);
  return builder.totals();
}
