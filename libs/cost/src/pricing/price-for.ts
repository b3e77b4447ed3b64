import { PRICE_TABLE, type ModelPrice, type PriceTable } from './price-table';

export type PriceLookup =
  | { kind: 'priced'; price: ModelPrice; priceTableVersion: string }
  /** No entry: the cost is 0 and flagged, never a guess from a similar-looking name. */
  | { kind: 'unpriced'; priceTableVersion: string };

/**
 * What may follow a table entry's name and still be the same model: nothing, a dated snapshot
 * (`-2024-08-06`, `-20241022`, `-0613`) or `-latest`. `gpt-4o-audio-preview` is another product, so it stays
 * unpriced rather than being billed as `gpt-4o`.
 */
const SNAPSHOT_SUFFIX = /^(?:-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4}|-latest)?$/;

/**
 * Finds the price of a provider's model: an exact entry, else the longest entry whose name is a prefix of the
 * model followed by a snapshot suffix. Why longest: `gpt-4o-mini-2024-07-18` must not be priced as `gpt-4o`.
 */
export function priceFor(provider: string, model: string, table: PriceTable = PRICE_TABLE): PriceLookup {
  let best: ModelPrice | undefined;
  for (const price of table.prices) {
    if (price.provider !== provider || !model.startsWith(price.model)) continue;
    const rest = model.slice(price.model.length);
    if (!price.anySuffix && !SNAPSHOT_SUFFIX.test(rest)) continue;
    if (!best || price.model.length > best.model.length) best = price;
  }
  return best ? { kind: 'priced', price: best, priceTableVersion: table.version } : { kind: 'unpriced', priceTableVersion: table.version };
}

export interface TokenCounts {
  /** All prompt tokens, cached ones included (the contracts' Usage convention). */
  inputTokens: number;
  outputTokens: number;
  cachedInputTokens?: number;
}

export interface CallCost {
  costMicroUsd: number;
  unpriced: boolean;
  priceTableVersion: string;
}

/** USD per million tokens equals micro-USD per token; scaled by 1e6 it is an exact integer for any listed price. */
const toNanoMicro = (usdPerMillion: number): bigint => BigInt(Math.round(usdPerMillion * 1_000_000));

/**
 * The cost of one call in integer micro-USD. Sums in BigInt at 1e-6 micro-USD resolution and rounds up once,
 * so records never drift from float error and never under-charge by a rounding.
 */
export function costMicroUsd(price: ModelPrice, counts: TokenCounts): number {
  const cached = BigInt(Math.min(counts.cachedInputTokens ?? 0, counts.inputTokens));
  const uncached = BigInt(counts.inputTokens) - cached;
  const scaled =
    uncached * toNanoMicro(price.inputPerMillion) +
    cached * toNanoMicro(price.cachedInputPerMillion) +
    BigInt(counts.outputTokens) * toNanoMicro(price.outputPerMillion);
  return Number((scaled + 999_999n) / 1_000_000n);
}

/** Prices one call by provider and model: the cost, and whether the table knew the model at all. */
export function priceCall(provider: string, model: string, counts: TokenCounts, table: PriceTable = PRICE_TABLE): CallCost {
  const lookup = priceFor(provider, model, table);
  if (lookup.kind === 'unpriced') return { costMicroUsd: 0, unpriced: true, priceTableVersion: lookup.priceTableVersion };
  return { costMicroUsd: costMicroUsd(lookup.price, counts), unpriced: false, priceTableVersion: lookup.priceTableVersion };
}

/** The most a call can cost before it runs: what a budget reservation holds (input known, output at its cap). */
export function estimateCallCost(provider: string, model: string, inputTokens: number, maxOutputTokens: number, table: PriceTable = PRICE_TABLE): CallCost {
  return priceCall(provider, model, { inputTokens, outputTokens: maxOutputTokens }, table);
}
