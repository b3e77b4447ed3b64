import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { costMicroUsd, estimateCallCost, priceCall, priceFor } from './price-for';
import { PRICE_TABLE, type PriceTable } from './price-table';

const modelOf = (provider: string, model: string) => {
  const r = priceFor(provider, model);
  return r.kind === 'priced' ? r.price.model : 'unpriced';
};

describe('priceFor', () => {
  it('matches exact names, dated snapshots and -latest to the longest family name', () => {
    const table: [string, string, string][] = [
      ['openai', 'gpt-4o', 'gpt-4o'],
      ['openai', 'gpt-4o-2024-08-06', 'gpt-4o'],
      ['openai', 'gpt-4o-mini-2024-07-18', 'gpt-4o-mini'],
      ['openai', 'gpt-4.1-nano-2025-04-14', 'gpt-4.1-nano'],
      ['openai', 'o3-mini-2025-01-31', 'o3-mini'],
      ['openai', 'o4-mini', 'o4-mini'],
      ['openai', 'gpt-3.5-turbo-0125', 'gpt-3.5-turbo'],
      ['anthropic', 'claude-3-5-sonnet-20241022', 'claude-3-5-sonnet'],
      ['anthropic', 'claude-3-5-haiku-latest', 'claude-3-5-haiku'],
      ['anthropic', 'claude-sonnet-4-20250514', 'claude-sonnet-4'],
      ['anthropic', 'claude-opus-4-1-20250805', 'claude-opus-4-1'],
      ['anthropic', 'claude-sonnet-4-5-20250929', 'claude-sonnet-4-5'],
      ['anthropic', 'claude-haiku-4-5', 'claude-haiku-4-5'],
      ['openai', 'gpt-5-mini-2025-08-07', 'gpt-5-mini'],
      ['offline', 'offline-echo', 'offline-'],
    ];
    for (const [provider, model, family] of table) assert.equal(modelOf(provider, model), family, `${provider}/${model}`);
  });

  it('never guesses: other products, other providers and unknown models are unpriced', () => {
    for (const [provider, model] of [
      ['openai', 'gpt-4o-audio-preview'],
      ['openai', 'gpt-4o-realtime-preview-2024-10-01'],
      ['openai', 'llama-3.1-70b'],
      ['anthropic', 'gpt-4o'],
      ['openai', 'o1x'],
      ['anthropic', 'claude-opus-4-5-20251101'],
      ['vllm', 'claude-3-5-sonnet'],
    ]) {
      assert.deepEqual(priceFor(provider!, model!), { kind: 'unpriced', priceTableVersion: PRICE_TABLE.version }, `${provider}/${model}`);
    }
  });

  it('has a version, an effective date, and one entry per provider and model', () => {
    assert.match(PRICE_TABLE.version, /^\d{4}-\d{2}-\d{2}\.\d+$/);
    assert.match(PRICE_TABLE.effectiveFrom, /^\d{4}-\d{2}-\d{2}$/);
    const ids = PRICE_TABLE.prices.map((p) => `${p.provider}/${p.model}`);
    assert.equal(new Set(ids).size, ids.length);
  });
});

describe('costMicroUsd', () => {
  it('prices uncached input, cached input and output in integer micro-USD', () => {
    const gpt4o = PRICE_TABLE.prices.find((p) => p.model === 'gpt-4o')!;
    // 800 x 2.50 + 200 x 1.25 + 500 x 10.00 micro-USD
    assert.equal(costMicroUsd(gpt4o, { inputTokens: 1_000, cachedInputTokens: 200, outputTokens: 500 }), 7_250);
  });

  it('rounds up once per call, and sums without float drift', () => {
    const mini = PRICE_TABLE.prices.find((p) => p.model === 'gpt-4o-mini')!;
    assert.equal(costMicroUsd(mini, { inputTokens: 1, outputTokens: 0 }), 1, '0.15 micro-USD rounds up to 1');
    assert.equal(costMicroUsd(mini, { inputTokens: 10, outputTokens: 0 }), 2, '1.5 rounds up to 2');
    assert.equal(costMicroUsd(mini, { inputTokens: 1_000_000, outputTokens: 1_000_000 }), 750_000);
    // 0.1 + 0.2 style drift: 3 x 0.1 USD/M tokens x 1e6 tokens must be exactly 300000 micro-USD.
    const nano = PRICE_TABLE.prices.find((p) => p.model === 'gpt-4.1-nano')!;
    assert.equal(costMicroUsd(nano, { inputTokens: 3_000_000, outputTokens: 0 }), 300_000);
  });

  it('prices by provider and model, flags unpriced calls at 0, and prices a reservation at the output cap', () => {
    assert.deepEqual(priceCall('anthropic', 'claude-opus-4-1-20250805', { inputTokens: 1_000, outputTokens: 1_000 }), {
      costMicroUsd: 90_000,
      unpriced: false,
      priceTableVersion: PRICE_TABLE.version,
    });
    assert.deepEqual(priceCall('openai', 'mystery', { inputTokens: 1_000, outputTokens: 1_000 }), { costMicroUsd: 0, unpriced: true, priceTableVersion: PRICE_TABLE.version });
    assert.equal(estimateCallCost('openai', 'gpt-4.1', 1_000, 4_096).costMicroUsd, 2_000 + 32_768);
    const custom: PriceTable = { version: 'test.1', effectiveFrom: '2026-01-01', currency: 'USD', prices: [{ provider: 'x', model: 'm', inputPerMillion: 1, outputPerMillion: 2, cachedInputPerMillion: 0 }] };
    assert.deepEqual(priceCall('x', 'm', { inputTokens: 10, outputTokens: 10 }, custom), { costMicroUsd: 30, unpriced: false, priceTableVersion: 'test.1' });
  });
});
