import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage } from '@keelson/contracts';
import { Router } from './router';
import { EXAMPLE_POLICY, policyProblems, type RoutingPolicy } from './routing-policy';

const user = (content: string): ChatMessage => ({ role: 'user', content });
const simple = { messages: [user('What is the capital of France?')] };
const moderate = { messages: [user('Compare PostgreSQL and MySQL for a write-heavy workload.')] };
const complex = { messages: [user('Derive the closed form of \\sum_{k=1}^{n} k^2 and prove it by induction.')] };
const names = (cs: { model: string }[]) => cs.map((c) => c.model);
const router = new Router();

describe('Router.choose', () => {
  it('picks the tier by score and orders fallbacks: same tier, cheaper tiers, then dearer ones', () => {
    const s = router.choose({ policy: EXAMPLE_POLICY, request: simple });
    assert.deepEqual([s.decision.tier, s.decision.pinned, s.decision.downgraded], ['small', false, false]);
    assert.deepEqual(names(s.candidates), ['gpt-4o-mini', 'claude-3-5-haiku-latest', 'gpt-4.1', 'claude-sonnet-4-20250514', 'o3', 'claude-opus-4-1-20250805']);
    const m = router.choose({ policy: EXAMPLE_POLICY, request: moderate });
    assert.equal(m.decision.tier, 'standard');
    assert.deepEqual(names(m.candidates).slice(0, 4), ['gpt-4.1', 'claude-sonnet-4-20250514', 'gpt-4o-mini', 'claude-3-5-haiku-latest']);
    const c = router.choose({ policy: EXAMPLE_POLICY, request: complex });
    assert.deepEqual([c.decision.tier, c.decision.level, c.decision.score], ['reasoning', 'complex', 50]);
    assert.deepEqual(c.decision.reasons, ['reasoning_cue:prove', 'reasoning_cue:derive', 'math']);
  });

  it('downgrades one tier when the budget is below the policy\'s threshold, and says why', () => {
    const r = router.choose({ policy: EXAMPLE_POLICY, request: complex, remainingBudgetPct: 12.5 });
    assert.deepEqual([r.decision.tier, r.decision.downgraded], ['standard', true]);
    assert.ok(r.decision.reasons.includes('budget_low:12pct'));
    assert.equal(router.choose({ policy: EXAMPLE_POLICY, request: complex, remainingBudgetPct: 50 }).decision.downgraded, false);
    assert.equal(router.choose({ policy: { ...EXAMPLE_POLICY, downgradeWhenBudgetBelowPct: undefined }, request: complex, remainingBudgetPct: 1 }).decision.downgraded, false);
    assert.equal(router.choose({ policy: EXAMPLE_POLICY, request: simple, remainingBudgetPct: 1 }).decision.downgraded, false, 'nothing below the first tier');
  });

  it('keeps a session on its pinned model, unless the request needs a higher tier or the budget forbids it', () => {
    const pin = { provider: 'anthropic', model: 'claude-sonnet-4-20250514' };
    const kept = router.choose({ policy: EXAMPLE_POLICY, request: simple, sessionPin: pin });
    assert.deepEqual([kept.decision.pinned, kept.candidates[0]], [true, pin]);
    assert.equal(kept.decision.tier, 'small', 'the decision still says which tier the score asked for');
    assert.equal(new Set(names(kept.candidates)).size, kept.candidates.length, 'the pin is not repeated');

    const harder = router.choose({ policy: EXAMPLE_POLICY, request: complex, sessionPin: pin });
    assert.deepEqual([harder.decision.pinned, harder.candidates[0]!.model], [false, 'o3']);
    assert.ok(harder.decision.reasons.includes('pin_ignored:needs_higher_tier'));

    const opus = { provider: 'anthropic', model: 'claude-opus-4-1-20250805' };
    const poor = router.choose({ policy: EXAMPLE_POLICY, request: complex, sessionPin: opus, remainingBudgetPct: 5 });
    assert.deepEqual([poor.decision.pinned, poor.decision.tier], [false, 'standard']);
    assert.ok(poor.decision.reasons.includes('pin_ignored:budget_low'));

    const stranger = router.choose({ policy: EXAMPLE_POLICY, request: simple, sessionPin: { provider: 'openai', model: 'gpt-3.5-turbo' } });
    assert.deepEqual([stranger.decision.pinned, stranger.decision.reasons], [false, ['pin_ignored:not_in_policy']]);

    const loose: RoutingPolicy = { ...EXAMPLE_POLICY, stickySessions: false };
    assert.equal(router.choose({ policy: loose, request: simple, sessionPin: pin }).decision.pinned, false);
  });

  it('finds the problems of a bad policy', () => {
    assert.deepEqual(policyProblems(EXAMPLE_POLICY), []);
    const bad: RoutingPolicy = { name: 'bad', stickySessions: true, downgradeWhenBudgetBelowPct: 120, tiers: [{ name: 'a', minScore: 5, candidates: [] }, { name: 'b', minScore: 5, candidates: [{ provider: 'openai', model: 'o3' }] }] };
    assert.deepEqual(policyProblems(bad), [
      'the first tier must have minScore 0',
      'tier "a" has no candidates',
      'tier "b" must have a higher minScore than the tier before it',
      'downgradeWhenBudgetBelowPct must be between 0 and 100',
    ]);
  });
});
