import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { CostRequest } from '../request';
import { cacheKey, canonicalJson } from './cache-key';
import { isCacheable } from './response-cache';

const scope = { tenant: 'dev', agentId: 'assistant', agentVersion: 'v1' };
const request: CostRequest = { provider: 'openai', model: 'gpt-4.1', temperature: 0, messages: [{ role: 'user', content: 'hi' }] };

describe('cacheKey', () => {
  it('does not depend on key order, and is a sha256', () => {
    assert.equal(canonicalJson({ b: 1, a: [{ d: 2, c: 3 }] }), '{"a":[{"c":3,"d":2}],"b":1}');
    const reordered = { temperature: 0, messages: [{ content: 'hi', role: 'user' as const }], model: 'gpt-4.1', provider: 'openai' };
    assert.equal(cacheKey(scope, reordered), cacheKey(scope, request));
    assert.match(cacheKey(scope, request), /^[a-f0-9]{64}$/);
  });

  it('differs by tenant, agent, agent version, model, output cap, messages and tools', () => {
    const base = cacheKey(scope, request);
    const variants = [
      cacheKey({ ...scope, tenant: 'acme' }, request),
      cacheKey({ ...scope, agentId: 'other' }, request),
      cacheKey({ ...scope, agentVersion: 'v2' }, request),
      cacheKey(scope, { ...request, model: 'gpt-4o' }),
      cacheKey(scope, { ...request, maxOutputTokens: 10 }),
      cacheKey(scope, { ...request, messages: [{ role: 'user', content: 'hi!' }] }),
      cacheKey(scope, { ...request, tools: [{ name: 'http_fetch' }] }),
    ];
    assert.equal(new Set([base, ...variants]).size, variants.length + 1);
  });
});

describe('isCacheable', () => {
  const cases: [string, Pick<CostRequest, 'provider' | 'temperature'>, Parameters<typeof isCacheable>[1], boolean][] = [
    ['temperature 0, plain answer', { provider: 'openai', temperature: 0 }, { finishReason: 'stop' }, true],
    ['temperature 0, request only', { provider: 'anthropic', temperature: 0 }, undefined, true],
    ['temperature unset on a real provider (defaults to 1)', { provider: 'openai' }, { finishReason: 'stop' }, false],
    ['temperature unset on the offline model', { provider: 'offline' }, { finishReason: 'stop' }, true],
    ['temperature 0.7', { provider: 'openai', temperature: 0.7 }, { finishReason: 'stop' }, false],
    ['a tool-call response', { provider: 'openai', temperature: 0 }, { finishReason: 'stop', toolCalls: [{ id: 'c1' }] }, false],
    ['a truncated response', { provider: 'openai', temperature: 0 }, { finishReason: 'length' }, false],
    ['a cancelled response', { provider: 'openai', temperature: 0 }, { finishReason: 'cancelled' }, false],
  ];
  for (const [name, req, res, expected] of cases) {
    it(`${name}: ${expected ? 'cached' : 'not cached'}`, () => assert.equal(isCacheable(req, res), expected));
  }
});
