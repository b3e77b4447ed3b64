import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage } from '@keelson/contracts';
import type { AgentDefinition } from '../agents/agent-definition';
import { builtinAgents } from '../agents/builtin-agents';
import { OfflineModel } from '../model/offline-model';
import { ProviderRegistry, type ModelChunk, type ModelProvider } from '../model/provider';
import { countTokens } from '../model/tokens';
import { runAgent } from './run-agent';
import { RunError, type RunErrorCode } from './run-error';

const assistant = builtinAgents()[0]!;
const user = (content: string): ChatMessage => ({ role: 'user', content });
const offline = (tokenDelayMs = 0) => new ProviderRegistry([new OfflineModel({ tokenDelayMs })]);
const withLimits = (limits: Partial<AgentDefinition['limits']>): AgentDefinition => ({
  ...assistant,
  limits: { ...assistant.limits, ...limits },
});

/** A provider defined inline by the chunks it yields (or the way it misbehaves). */
const fake = (stream: ModelProvider['stream']): ProviderRegistry => new ProviderRegistry([{ name: 'offline', stream }]);

async function runError(promise: Promise<unknown>, code: RunErrorCode): Promise<RunError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof RunError, `expected RunError, got ${String(err)}`);
    assert.equal(err.code, code, `expected code ${code}, got ${err.code}: ${err.message}`);
    return err;
  }
  assert.fail(`expected a RunError ${code}, the run succeeded`);
}

describe('runAgent', () => {
  it('runs the builtin assistant and reports the outcome, counting the system prompt as input', async () => {
    const outcome = await runAgent({ agent: assistant, messages: [user('hello, I am Ada')], providers: offline() });
    assert.equal(outcome.agentId, 'assistant');
    assert.equal(outcome.model, assistant.model.name);
    assert.equal(outcome.finishReason, 'stop');
    assert.match(outcome.output, /turn 1.*"hello, I am Ada"/);
    const input = countTokens(assistant.systemPrompt) + countTokens('hello, I am Ada');
    assert.deepEqual(outcome.usage, {
      inputTokens: input,
      outputTokens: countTokens(outcome.output),
      totalTokens: input + countTokens(outcome.output),
    });
  });

  it('shows the history on the second turn', async () => {
    const first = await runAgent({ agent: assistant, messages: [user('hello, I am Ada')], providers: offline() });
    const second = await runAgent({
      agent: assistant,
      messages: [user('hello, I am Ada'), { role: 'assistant', content: first.output }, user('who am I?')],
      providers: offline(),
    });
    assert.match(second.output, /turn 2/);
    assert.match(second.output, /Earlier you said: "hello, I am Ada"/);
  });

  it('hands every text delta to onDelta, in order', async () => {
    const deltas: string[] = [];
    const outcome = await runAgent({ agent: assistant, messages: [user('hi')], providers: offline(), onDelta: (d) => deltas.push(d) });
    assert.ok(deltas.length > 1);
    assert.equal(deltas.join(''), outcome.output);
  });

  it('finishes with length at limits.maxOutputTokens', async () => {
    const outcome = await runAgent({ agent: withLimits({ maxOutputTokens: 4 }), messages: [user('hi')], providers: offline() });
    assert.equal(outcome.finishReason, 'length');
    assert.equal(countTokens(outcome.output), 4);
  });

  it('finishes with cancelled and the output so far when the caller aborts', async () => {
    const abort = new AbortController();
    const outcome = await runAgent({
      agent: assistant,
      messages: [user('hi')],
      providers: offline(1),
      signal: abort.signal,
      onDelta: () => abort.abort(),
    });
    assert.equal(outcome.finishReason, 'cancelled');
    assert.equal(countTokens(outcome.output), 1);
  });

  it('finishes with cancelled at once when the signal is already aborted', async () => {
    const outcome = await runAgent({ agent: assistant, messages: [user('hi')], providers: offline(), signal: AbortSignal.abort() });
    assert.equal(outcome.finishReason, 'cancelled');
    assert.equal(outcome.output, '');
  });

  it('throws RunError timeout past limits.timeoutMs', async () => {
    const err = await runError(
      runAgent({ agent: withLimits({ timeoutMs: 20 }), messages: [user('__slow:600000__')], providers: offline() }),
      'timeout',
    );
    assert.match(err.message, /within 20 ms/);
  });

  it('enforces the timeout even on a provider that ignores its signal', async () => {
    const hangs = fake(async function* () {
      yield { type: 'text', text: 'partial' };
      await new Promise(() => undefined); // never settles, never looks at the signal
    });
    await runError(runAgent({ agent: withLimits({ timeoutMs: 20 }), messages: [user('hi')], providers: hangs }), 'timeout');
  });

  it('maps a provider failure to RunError model_error, keeping the cause', async () => {
    const err = await runError(runAgent({ agent: assistant, messages: [user('__fail__')], providers: offline() }), 'model_error');
    assert.match(err.message, /failed on purpose/);
    assert.ok(err.cause instanceof Error);
  });

  it('maps a provider that throws before streaming to model_error too', async () => {
    const broken = new ProviderRegistry([{ name: 'offline', stream: () => { throw new Error('no credentials'); } }]);
    const err = await runError(runAgent({ agent: assistant, messages: [user('hi')], providers: broken }), 'model_error');
    assert.match(err.message, /no credentials/);
  });

  it('throws RunError provider_not_found for an unconfigured provider', async () => {
    const agent: AgentDefinition = { ...assistant, model: { provider: 'nowhere', name: 'x' } };
    const err = await runError(runAgent({ agent, messages: [user('hi')], providers: offline() }), 'provider_not_found');
    assert.match(err.message, /"nowhere"/);
  });

  it('answers a tool call as an unknown tool without a registry, and ends at maxSteps if the model insists', async () => {
    const toolCaller = fake(async function* (): AsyncIterable<ModelChunk> {
      yield { type: 'tool_call', id: 'c1', name: 'search', argumentsDelta: '{}' };
    });
    const err = await runError(runAgent({ agent: withLimits({ maxSteps: 2 }), messages: [user('hi')], providers: toolCaller }), 'max_steps');
    assert.match(err.message, /\(search\)/);
  });

  it('estimates usage when the provider reports none, and defaults the finish to stop', async () => {
    const terse = fake(async function* (): AsyncIterable<ModelChunk> {
      yield { type: 'text', text: 'two words' };
    });
    const outcome = await runAgent({ agent: { ...assistant, systemPrompt: '' }, messages: [user('one two three')], providers: terse });
    assert.equal(outcome.finishReason, 'stop');
    assert.deepEqual(outcome.usage, { inputTokens: 3, outputTokens: 2, totalTokens: 5 });
  });

  it('lets an error thrown by onDelta reach the caller unchanged', async () => {
    const boom = new Error('publish failed');
    await assert.rejects(
      runAgent({ agent: assistant, messages: [user('hi')], providers: offline(), onDelta: () => { throw boom; } }),
      (err) => err === boom,
    );
  });
});
