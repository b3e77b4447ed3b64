import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { encodingFor, estimateTokens, estimateUsage } from './estimate-tokens';

describe('token estimates', () => {
  it('chooses o200k_base for the gpt-4o, gpt-4.1 and o families, cl100k_base for the rest', () => {
    for (const m of ['gpt-4o', 'gpt-4o-mini-2024-07-18', 'gpt-4.1-nano', 'o1', 'o3-mini', 'o4-mini']) assert.equal(encodingFor(m), 'o200k_base', m);
    for (const m of ['gpt-4-turbo', 'gpt-3.5-turbo', 'claude-sonnet-4-20250514', 'offline-echo', 'llama-3']) assert.equal(encodingFor(m), 'cl100k_base', m);
  });

  it('counts text with the real BPE (not words), and treats special-token text as text', () => {
    assert.equal(estimateTokens('gpt-4o', 'Hello, world!'), 4);
    assert.equal(estimateTokens('gpt-4', 'Hello, world!'), 4);
    assert.equal(estimateTokens('gpt-4o', ''), 0);
    assert.ok(estimateTokens('gpt-4o', 'x <|endoftext|> y') > 3, 'the special token is counted as its characters');
    const code = 'function add(a, b) { return a + b; }';
    assert.ok(estimateTokens('gpt-4o', code) > code.split(/\s+/).length, 'code has more tokens than words');
  });

  it('adds chat framing per message, and counts tools and the streamed output for a cut call', () => {
    const messages = [
      { role: 'system' as const, content: 'Be brief.' },
      { role: 'user' as const, content: 'Hello there' },
    ];
    const framed = estimateTokens('gpt-4o', messages);
    assert.equal(framed, 3 + (3 + estimateTokens('gpt-4o', 'system\nBe brief.')) + (3 + estimateTokens('gpt-4o', 'user\nHello there')));
    const usage = estimateUsage({ model: 'gpt-4o', messages }, 'General Kenobi');
    assert.deepEqual(usage, { inputTokens: framed, outputTokens: estimateTokens('gpt-4o', 'General Kenobi'), cachedInputTokens: 0, estimated: true });
    const withTools = estimateUsage({ model: 'gpt-4o', messages, tools: [{ name: 'http_fetch', description: 'Fetch a URL', parameters: { type: 'object' } }] }, '');
    assert.ok(withTools.inputTokens > framed + 5);
    assert.equal(withTools.outputTokens, 0);
  });
});
