import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage, UsageStatus } from '@keelson/contracts';
import { builtinAgents } from '../agents/builtin-agents';
import type { AgentDefinition } from '../agents/agent-definition';
import { ProviderRegistry, type ModelChunk, type ModelProvider, type ModelRequest } from '../model/provider';
import { RunLog } from '../run-log/run-log';
import { RecordingPublisher } from '../run-log/recording-publisher';
import { runLogged } from '../run-log/logged-run';
import type { ModelCallMetering } from './metering';
import type { ModelCandidate, ModelRouting, RoutedCall, RoutingPlan } from './model-routing';
import { runAgent } from './run-agent';
import { RunError } from './run-error';

const base = builtinAgents()[0]!;
const routedAgent: AgentDefinition = { ...base, systemPrompt: '', model: { routing: 'two' } };
const user = (content: string): ChatMessage => ({ role: 'user', content });
const small: ModelCandidate = { provider: 'alpha', model: 'small-1' };
const large: ModelCandidate = { provider: 'beta', model: 'large-1' };

type Script = (req: ModelRequest) => AsyncIterable<ModelChunk>;

/** Two providers whose every call follows `script` (by provider name), recording what each was asked. */
function twoProviders(scripts: Record<string, Script>) {
  const asked: { provider: string; model: string }[] = [];
  const provider = (name: string): ModelProvider => ({
    name,
    stream(req) {
      asked.push({ provider: name, model: req.model });
      return scripts[name]!(req);
    },
  });
  return { providers: new ProviderRegistry([provider('alpha'), provider('beta')]), asked };
}

const answer = (text: string): Script =>
  async function* () {
    yield { type: 'text', text };
    yield { type: 'usage', usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7 } };
    yield { type: 'finish', reason: 'stop' };
  };
const failsAtOnce: Script = () => ({
  [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('HTTP 500 upstream exploded')) }),
});
const failsAfterOutput: Script = async function* () {
  yield { type: 'text', text: 'partial ' };
  throw new Error('connection reset');
};

/** A routing that always offers `candidates`, and records what it was told answered. */
function scriptedRouting(candidates: ModelCandidate[], extra: Partial<RoutingPlan> = {}) {
  const answered: ModelCandidate[] = [];
  const routing: ModelRouting = {
    async choose() {
      return { candidates, policy: 'two', tier: 'small', score: 0, reasons: [], pinned: false, downgraded: false, ...extra };
    },
    async answered(candidate) {
      answered.push(candidate);
    },
  };
  return { routing, answered };
}

function recordingMeter() {
  const calls: { provider: string; model: string; callIndex: number; status?: UsageStatus }[] = [];
  const metering: ModelCallMetering = {
    async begin({ provider, request, callIndex }) {
      const entry: (typeof calls)[number] = { provider, model: request.model, callIndex };
      calls.push(entry);
      return { onOutput: async () => undefined, finish: async ({ status }) => void (entry.status = status) };
    },
  };
  return { metering, calls };
}

describe('runAgent with routing', () => {
  it('falls back to the next candidate when the first fails before any output, and records why', async () => {
    const { providers, asked } = twoProviders({ alpha: failsAtOnce, beta: answer('from beta') });
    const { routing, answered } = scriptedRouting([small, large]);
    const meter = recordingMeter();
    const routed: RoutedCall[] = [];
    const outcome = await runAgent({ agent: routedAgent, messages: [user('hi')], providers, routing, metering: meter.metering, onRouted: (r) => routed.push(r) });
    assert.equal(outcome.output, 'from beta');
    assert.equal(outcome.model, 'large-1', 'the outcome names the model that answered');
    assert.deepEqual(asked, [{ provider: 'alpha', model: 'small-1' }, { provider: 'beta', model: 'large-1' }]);
    assert.equal(routed.length, 1);
    assert.deepEqual(routed[0]!.candidate, large);
    assert.deepEqual(routed[0]!.fallbacks, [{ candidate: small, outcome: 'error', error: 'HTTP 500 upstream exploded' }]);
    assert.equal(routed[0]!.callIndex, 0);
    // Each candidate tried is a model call with its own usage record: the failed one, then the one that answered.
    assert.deepEqual(meter.calls, [
      { provider: 'alpha', model: 'small-1', callIndex: 0, status: 'failed' },
      { provider: 'beta', model: 'large-1', callIndex: 1, status: 'completed' },
    ]);
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(answered, [large], 'the session is pinned to the model that answered');
  });

  it('does not fall back once output has streamed: the failure is the run\'s', async () => {
    const { providers, asked } = twoProviders({ alpha: failsAfterOutput, beta: answer('never') });
    const { routing } = scriptedRouting([small, large]);
    const routed: RoutedCall[] = [];
    const deltas: string[] = [];
    await assert.rejects(
      runAgent({ agent: routedAgent, messages: [user('hi')], providers, routing, onRouted: (r) => routed.push(r), onDelta: (t) => deltas.push(t) }),
      (err: unknown) => err instanceof RunError && err.code === 'model_error' && /connection reset/.test(err.message),
    );
    assert.deepEqual(asked, [{ provider: 'alpha', model: 'small-1' }]);
    assert.deepEqual(deltas, ['partial ']);
    assert.deepEqual(routed.map((r) => [r.candidate.model, r.fallbacks.length]), [['small-1', 0]]);
  });

  it('moves on from a candidate that sends nothing within the policy\'s timeout', async () => {
    const hangs: Script = (_req) => ({
      [Symbol.asyncIterator]: () => ({ next: () => new Promise<IteratorResult<ModelChunk>>(() => undefined) }),
    });
    const { providers } = twoProviders({ alpha: hangs, beta: answer('quick') });
    const { routing } = scriptedRouting([small, large], { candidateTimeoutMs: 50 });
    const routed: RoutedCall[] = [];
    const outcome = await runAgent({ agent: routedAgent, messages: [user('hi')], providers, routing, onRouted: (r) => routed.push(r) });
    assert.equal(outcome.output, 'quick');
    assert.deepEqual(routed[0]!.fallbacks, [{ candidate: small, outcome: 'timeout', error: 'no answer within 50 ms' }]);
  });

  it('fails naming every candidate when all fail before output, after logging the decision', async () => {
    const { providers } = twoProviders({ alpha: failsAtOnce, beta: failsAtOnce });
    const { routing } = scriptedRouting([small, large]);
    const routed: RoutedCall[] = [];
    await assert.rejects(
      runAgent({ agent: routedAgent, messages: [user('hi')], providers, routing, onRouted: (r) => routed.push(r) }),
      (err: unknown) => err instanceof RunError && err.code === 'model_error' && /alpha\/small-1.*beta\/large-1/.test(err.message),
    );
    assert.deepEqual(routed.map((r) => [r.candidate.model, r.fallbacks.map((f) => f.candidate.model)]), [['large-1', ['small-1']]]);
  });

  it('sends a fixed-model agent to its model without asking the routing, and logs no decision', async () => {
    const fixed: AgentDefinition = { ...base, systemPrompt: '', model: { provider: 'alpha', name: 'fixed-1', temperature: 0.3 } };
    const { providers, asked } = twoProviders({ alpha: answer('fixed'), beta: answer('no') });
    let chosen = 0;
    const routing: ModelRouting = {
      async choose() {
        chosen++;
        throw new Error('not for fixed models');
      },
      answered: async () => undefined,
    };
    const seen: ModelRequest[] = [];
    const spy = new ProviderRegistry([{ name: 'alpha', stream: (req) => (seen.push(req), providers.get('alpha')!.stream(req)) }]);
    const routed: RoutedCall[] = [];
    const outcome = await runAgent({ agent: fixed, messages: [user('hi')], providers: spy, routing, onRouted: (r) => routed.push(r) });
    assert.deepEqual([outcome.output, outcome.model, chosen, routed.length], ['fixed', 'fixed-1', 0, 0]);
    assert.equal(seen[0]!.temperature, 0.3, 'the agent\'s temperature reaches the provider');
    assert.deepEqual(asked, [{ provider: 'alpha', model: 'fixed-1' }]);
  });

  it('refuses a routed agent when the runtime has no routing', async () => {
    const { providers } = twoProviders({ alpha: answer('x'), beta: answer('y') });
    await assert.rejects(runAgent({ agent: routedAgent, messages: [user('hi')], providers }), /names routing policy "two"/);
  });

  it('logs run.routed before the deltas of the call it routed', async () => {
    const { providers } = twoProviders({ alpha: failsAtOnce, beta: answer('logged answer') });
    const { routing } = scriptedRouting([small, large]);
    const publisher = new RecordingPublisher();
    const log = new RunLog(publisher, { subject: 'keelson.runs.t.x', tenant: 't', runId: 'run_1', attempt: 1, agentId: routedAgent.id, source: '/test' });
    const result = await runLogged({ agent: routedAgent, messages: [user('hi')], providers, routing, log });
    assert.equal(result.ok, true);
    assert.deepEqual(publisher.types(), ['run.started', 'run.routed', 'run.delta']);
    const data = publisher.published[1]!.event.data;
    assert.deepEqual(data['candidate'], large);
    assert.deepEqual(data['fallbacks'], [{ candidate: small, outcome: 'error', error: 'HTTP 500 upstream exploded' }]);
    assert.equal(publisher.published[1]!.msgId, 't:run_1:1:routed:0');
  });
});
