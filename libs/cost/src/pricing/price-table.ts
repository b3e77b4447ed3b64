/**
 * The price table: USD per million tokens, per provider and model family. Versioned, because a usage record
 * names the version it was priced with; an old record stays explainable after prices change. To change a
 * price, add the new figures, bump `version` and `effectiveFrom`, and say so in the README's change list.
 */
export interface ModelPrice {
  provider: string;
  /** The model name, or its prefix: `gpt-4o` also prices `gpt-4o-2024-08-06` (see `priceFor`). */
  model: string;
  /** USD per million uncached input tokens. */
  inputPerMillion: number;
  /** USD per million output tokens (reasoning tokens included, as the providers bill them). */
  outputPerMillion: number;
  /** USD per million input tokens read from the provider's prompt cache. */
  cachedInputPerMillion: number;
  /** Matches any suffix after `model` (the offline models), not only dated snapshots. */
  anySuffix?: boolean;
}

export interface PriceTable {
  version: string;
  /** The first UTC day these prices apply to (ISO date). */
  effectiveFrom: string;
  currency: 'USD';
  prices: readonly ModelPrice[];
}

const openai = (model: string, input: number, cached: number, output: number): ModelPrice => ({
  provider: 'openai', model, inputPerMillion: input, cachedInputPerMillion: cached, outputPerMillion: output,
});
const anthropic = (model: string, input: number, cached: number, output: number): ModelPrice => ({
  provider: 'anthropic', model, inputPerMillion: input, cachedInputPerMillion: cached, outputPerMillion: output,
});

/**
 * List prices of the public APIs (standard tier, no batch discount). Anthropic's cached price is its cache
 * read price; cache writes (1.25x input) are billed here as plain input, a documented under-count.
 */
export const PRICE_TABLE: PriceTable = {
  version: '2025-10-15.1',
  effectiveFrom: '2025-10-15',
  currency: 'USD',
  prices: [
    openai('gpt-4o', 2.5, 1.25, 10),
    openai('gpt-4o-mini', 0.15, 0.075, 0.6),
    openai('gpt-4.1', 2, 0.5, 8),
    openai('gpt-4.1-mini', 0.4, 0.1, 1.6),
    openai('gpt-4.1-nano', 0.1, 0.025, 0.4),
    openai('gpt-4-turbo', 10, 10, 30),
    openai('gpt-3.5-turbo', 0.5, 0.5, 1.5),
    openai('gpt-5', 1.25, 0.125, 10),
    openai('gpt-5-mini', 0.25, 0.025, 2),
    openai('gpt-5-nano', 0.05, 0.005, 0.4),
    openai('o1', 15, 7.5, 60),
    openai('o1-mini', 1.1, 0.55, 4.4),
    openai('o3', 2, 0.5, 8),
    openai('o3-mini', 1.1, 0.55, 4.4),
    openai('o4-mini', 1.1, 0.275, 4.4),
    anthropic('claude-3-5-sonnet', 3, 0.3, 15),
    anthropic('claude-3-7-sonnet', 3, 0.3, 15),
    anthropic('claude-sonnet-4', 3, 0.3, 15),
    anthropic('claude-sonnet-4-5', 3, 0.3, 15),
    anthropic('claude-3-5-haiku', 0.8, 0.08, 4),
    anthropic('claude-haiku-4-5', 1, 0.1, 5),
    anthropic('claude-3-haiku', 0.25, 0.03, 1.25),
    anthropic('claude-3-opus', 15, 1.5, 75),
    anthropic('claude-opus-4', 15, 1.5, 75),
    anthropic('claude-opus-4-1', 15, 1.5, 75),
    { provider: 'offline', model: 'offline-', inputPerMillion: 0, cachedInputPerMillion: 0, outputPerMillion: 0, anySuffix: true },
  ],
};
