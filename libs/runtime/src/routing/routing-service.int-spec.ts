import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import type { ChatMessage } from '@keelson/contracts';
import { BudgetLedger, BudgetStore, ResponseCache, SessionPins, type RoutingPolicy } from '@keelson/cost';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { createClient } from 'redis';
import type { AgentDefinition } from '../agents/agent-definition';
import { builtinAgents } from '../agents/builtin-agents';
import { ProviderRegistry, type ModelChunk, type ModelProvider, type ModelRequest } from '../model/provider';
import type { ModelCallMetering } from '../run/metering';
import type { RoutedCall } from '../run/model-routing';
import { runAgent } from '../run/run-agent';
import { RoutingService } from './routing-service';

const base = builtinAgents()[0]!;
const user = (content: string): ChatMessage => ({ role: 'user', content });
const SIMPLE = 'What is the capital of France?';
const COMPLEX = 'Derive the closed form of \\sum_{k=1}^{n} k^2 and prove it by induction.';

const policy: RoutingPolicy = {
  name: 'duo',
  stickySessions: true,
  downgradeWhenBudgetBelowPct: 20,
  tiers: [
    { name: 'small', minScore: 0, candidates: [{ provider: 'fake', model: 'small-a' }, { provider: 'fake', model: 'small-b' }] },
    { name: 'large', minScore: 40, candidates: [{ provider: 'fake', model: 'large-a' }] },
  ],
};
const routed: AgentDefinition = { ...base, id: 'router', systemPrompt: '', model: { routing: 'duo' } };
const quiet = { warn: () => undefined };

/** One provider serving every model name; `failing` models answer HTTP 500 before any output. */
function fakeProvider(failing: Set<string> = new Set(), reply: (req: ModelRequest) => ModelChunk[] = (req) => [{ type: 'text', text: `answer from ${req.model}` }]) {
  const requests: ModelRequest[] = [];
  const provider: ModelProvider = {
    name: 'fake',
    async *stream(req) {
      requests.push(req);
      if (failing.has(req.model)) throw new Error('HTTP 500');
      yield* reply(req);
      yield { type: 'usage', usage: { inputTokens: 10, outputTokens: 4, totalTokens: 14 } };
      yield { type: 'finish', reason: reply(req).some((c) => c.type === 'tool_call') ? 'tool_calls' : 'stop' };
    },
  };
  return { providers: new ProviderRegistry([provider]), requests };
}

describe('RoutingService against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;
  let other: ReturnType<typeof createClient>;
  /** Two replicas: each its own Redis connection, the same policies. */
  let replicaA: RoutingService;
  let replicaB: RoutingService;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    other = createClient({ url: server.url });
    await Promise.all([redis.connect(), other.connect()]);
    const replica = (client: typeof redis) =>
      new RoutingService({
        policies: { policy: (name) => (name === 'duo' ? policy : undefined) },
        pins: new SessionPins(client, { ttlSeconds: 60 }),
        ledger: new BudgetLedger(client),
        cache: new ResponseCache(client, { ttlSeconds: 60 }),
        logger: quiet,
      });
    replicaA = replica(redis);
    replicaB = replica(other);
  });
  after(async () => {
    await Promise.all([redis.close(), other.close()]);
    await server.stop();
  });

  async function turn(replica: RoutingService, account: { tenant: string; sessionId?: string; agentId?: string }, content: string, providers: ProviderRegistry, agent = routed) {
    const decisions: RoutedCall[] = [];
    const outcome = await runAgent({ agent, messages: [user(content)], providers, ...replica.forRun(account), onRouted: (r) => decisions.push(r) });
    await new Promise((resolve) => setTimeout(resolve, 20)); // the pin is written after the answer began, not awaited
    return { outcome, decision: decisions[0]! };
  }

  it('sends a simple request to the small tier and a complex one to the large tier, with the reasons', async () => {
    const { providers } = fakeProvider();
    const simple = await turn(replicaA, { tenant: 't1' }, SIMPLE, providers);
    assert.deepEqual([simple.decision.tier, simple.decision.candidate.model, simple.decision.reasons], ['small', 'small-a', []]);
    const complex = await turn(replicaA, { tenant: 't1' }, COMPLEX, providers);
    assert.equal(complex.decision.tier, 'large');
    assert.equal(complex.outcome.model, 'large-a');
    assert.deepEqual(complex.decision.reasons, ['reasoning_cue:prove', 'reasoning_cue:derive', 'math']);
  });

  it('keeps a session on the model that answered it, on every replica, and re-pins after a fallback', async () => {
    const failing = new Set(['small-a']);
    const { providers, requests } = fakeProvider(failing);
    const session = { tenant: 't2', sessionId: 'ses_pin' };
    const first = await turn(replicaA, session, SIMPLE, providers);
    assert.equal(first.outcome.model, 'small-b');
    assert.deepEqual(first.decision.fallbacks.map((f) => f.candidate.model), ['small-a']);
    assert.deepEqual(await new SessionPins(other, { ttlSeconds: 60 }).get('t2', 'ses_pin'), { provider: 'fake', model: 'small-b' });

    failing.clear(); // small-a works again, but the session stays where it is
    const second = await turn(replicaB, session, 'And of Germany?', providers);
    assert.equal(second.outcome.model, 'small-b');
    assert.equal(second.decision.pinned, true);
    assert.ok(second.decision.reasons.includes('session_pinned'));
    assert.equal(requests.at(-1)!.model, 'small-b');

    const fresh = await turn(replicaB, { tenant: 't2', sessionId: 'ses_other' }, SIMPLE, providers);
    assert.equal(fresh.outcome.model, 'small-a', 'another session is not pinned');
  });

  it('downgrades a tier when the remaining budget is below the policy\'s threshold', async () => {
    const { providers } = fakeProvider();
    const store = new BudgetStore(redis);
    const ledger = new BudgetLedger(redis);
    await store.set({ scope: { kind: 'tenant', tenant: 't3' }, window: 'day', limitMicroUsd: 1_000 });
    await ledger.reserve({ scopes: [{ kind: 'tenant', tenant: 't3' }], estimateMicroUsd: 900, reservationId: 'spent-earlier', ttlMs: 60_000 });
    await ledger.settle('t3', 'spent-earlier', 900);
    const { decision, outcome } = await turn(replicaA, { tenant: 't3' }, COMPLEX, providers);
    assert.deepEqual([decision.tier, decision.downgraded, outcome.model], ['small', true, 'small-a']);
    assert.ok(decision.reasons.includes('budget_low:10pct'), decision.reasons.join(','));
    const roomy = await turn(replicaA, { tenant: 't4' }, COMPLEX, providers);
    assert.deepEqual([roomy.decision.tier, roomy.decision.downgraded], ['large', false]);
  });

  describe('the exact response cache', () => {
    const deterministic: AgentDefinition = { ...base, id: 'exact', systemPrompt: 'Be exact.', model: { provider: 'fake', name: 'small-a', temperature: 0 } };
    const meteredCalls = () => {
      const calls: number[] = [];
      const metering: ModelCallMetering = {
        async begin({ callIndex }) {
          calls.push(callIndex);
          return { onOutput: async () => undefined, finish: async () => undefined };
        },
      };
      return { metering, calls };
    };
    const ask = async (agent: AgentDefinition, tenant: string, content: string, providers: ProviderRegistry, metering?: ModelCallMetering) => {
      const deltas: string[] = [];
      const outcome = await runAgent({ agent, messages: [user(content)], providers, ...replicaA.forRun({ tenant }), ...(metering ? { metering } : {}), onDelta: (t) => deltas.push(t) });
      return { outcome, deltas };
    };

    it('answers a repeated temperature-0 request from the cache, on any replica, with no model call and no usage', async () => {
      const { providers, requests } = fakeProvider();
      const meter = meteredCalls();
      const first = await ask(deterministic, 'c1', 'What is 2+2?', providers, meter.metering);
      const decisions: RoutedCall[] = [];
      const again = await runAgent({ agent: deterministic, messages: [user('What is 2+2?')], providers, ...replicaB.forRun({ tenant: 'c1' }), metering: meter.metering, onRouted: (r) => decisions.push(r) });
      assert.equal(requests.length, 1, 'the model was called once');
      assert.equal(requests[0]!.temperature, 0);
      assert.equal(again.output, first.outcome.output);
      assert.deepEqual(again.usage, { inputTokens: 0, outputTokens: 0, totalTokens: 0 });
      assert.deepEqual(meter.calls, [0], 'a hit is not metered: no reservation, no usage record');
      assert.equal(decisions.length, 0, 'a fixed-model agent logs no routing decision, hit or not');
    });

    it('misses for another tenant, another agent version, other inputs', async () => {
      const { providers, requests } = fakeProvider();
      await ask(deterministic, 'c2', 'hello', providers);
      await ask(deterministic, 'c2-other', 'hello', providers);
      await ask({ ...deterministic, version: '2' }, 'c2', 'hello', providers);
      await ask(deterministic, 'c2', 'hello!', providers);
      assert.equal(requests.length, 4);
      await ask(deterministic, 'c2', 'hello', providers);
      assert.equal(requests.length, 4, 'the first request is still cached');
    });

    it('never caches without temperature 0, nor an answer with tool calls', async () => {
      const { providers, requests } = fakeProvider();
      const sampled: AgentDefinition = { ...deterministic, model: { provider: 'fake', name: 'small-a' } };
      await ask(sampled, 'c3', 'hello', providers);
      await ask(sampled, 'c3', 'hello', providers);
      await ask({ ...deterministic, model: { provider: 'fake', name: 'small-a', temperature: 0.7 } }, 'c3', 'hello', providers);
      await ask({ ...deterministic, model: { provider: 'fake', name: 'small-a', temperature: 0.7 } }, 'c3', 'hello', providers);
      assert.equal(requests.length, 4);

      const calling = fakeProvider(new Set(), () => [{ type: 'tool_call', id: 'c1', name: 'lookup', argumentsDelta: '{}' }]);
      const withTool: AgentDefinition = { ...deterministic, limits: { ...deterministic.limits, maxSteps: 2 } };
      await ask(withTool, 'c3', 'use a tool', calling.providers).catch(() => undefined);
      const keys = await redis.keys('keelson:cache:{c3}:*');
      assert.deepEqual(keys, [], 'nothing was stored for tenant c3');
    });

    it('routes, then answers from the cache, naming the hit among the reasons', async () => {
      const { providers, requests } = fakeProvider();
      const exactRouted: AgentDefinition = { ...routed, id: 'exact-router', model: { routing: 'duo', temperature: 0 } };
      await turn(replicaA, { tenant: 'c4' }, SIMPLE, providers, exactRouted);
      const hit = await turn(replicaB, { tenant: 'c4' }, SIMPLE, providers, exactRouted);
      assert.equal(requests.length, 1);
      assert.ok(hit.decision.reasons.includes('cache_hit'));
      assert.equal(hit.outcome.output, 'answer from small-a');
    });
  });
});
