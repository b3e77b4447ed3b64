import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { startFakeAnthropic, type FakeAnthropicHandle } from '@keelson/testing';
import type { AgentDefinition } from '../../agents/agent-definition';
import { builtinAgents } from '../../agents/builtin-agents';
import { ProviderRegistry } from '../../model/provider';
import { runAgent } from '../../run/run-agent';
import { RunError } from '../../run/run-error';
import { ToolRegistry } from '../../tools/tool-registry';
import { TEST_KEY, providerFor } from './anthropic-test-helpers';

// Built on the builtin assistant, so fields this test does not care about keep their defaults.
const agent: AgentDefinition = {
  ...builtinAgents()[0]!,
  id: 'claude-helper',
  model: { provider: 'anthropic', name: 'claude-test' },
  systemPrompt: 'You are terse.',
  limits: { maxOutputTokens: 200, maxSteps: 1, timeoutMs: 10_000 },
};

describe('runAgent over AnthropicProvider', () => {
  const fakes: FakeAnthropicHandle[] = [];
  after(() => Promise.all(fakes.map((f) => f.close())));
  const fake = async (...args: Parameters<typeof startFakeAnthropic>) => {
    const f = await startFakeAnthropic(...args);
    fakes.push(f);
    return f;
  };

  it('runs an agent end to end: system prompt and limits in the request, deltas, usage and finish in the outcome', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['Hi', ', Ada.'] }], inputTokens: 20, outputTokens: 4 } }], { apiKey: TEST_KEY });
    const deltas: string[] = [];
    const outcome = await runAgent({
      agent,
      messages: [{ role: 'user', content: 'I am Ada' }],
      providers: new ProviderRegistry([providerFor(server.baseUrl)]),
      onDelta: (d) => deltas.push(d),
    });
    assert.deepEqual(outcome, {
      agentId: 'claude-helper',
      model: 'claude-test',
      output: 'Hi, Ada.',
      finishReason: 'stop',
      usage: { inputTokens: 20, outputTokens: 4, totalTokens: 24 },
    });
    assert.deepEqual(deltas, ['Hi', ', Ada.']);
    const body = server.requests[0]!.body;
    assert.equal(body.system, 'You are terse.');
    assert.equal(body.max_tokens, 200);
    assert.deepEqual(body.messages, [{ role: 'user', content: 'I am Ada' }]);
  });

  it('runs a tool loop: tool_use, then the tool_result in the next request, then the answer', async () => {
    const server = await fake([
      { stream: { blocks: [{ toolUse: { id: 'toolu_9', name: 'upper', partialJson: ['{"te', 'xt":"keel"}'] } }], inputTokens: 30, outputTokens: 8 } },
      { stream: { blocks: [{ text: ['KEEL'] }], inputTokens: 50, outputTokens: 2 } },
    ]);
    const tools = new ToolRegistry([
      {
        name: 'upper',
        description: 'Upper-cases text',
        parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        run: async (args) => String(args['text']).toUpperCase(),
      },
    ]);
    const outcome = await runAgent({
      agent: { ...agent, tools: ['upper'], limits: { ...agent.limits, maxSteps: 3 } },
      messages: [{ role: 'user', content: 'shout keel' }],
      providers: new ProviderRegistry([providerFor(server.baseUrl)]),
      tools,
    });
    assert.equal(outcome.output, 'KEEL');
    assert.deepEqual(outcome.usage, { inputTokens: 80, outputTokens: 10, totalTokens: 90 });
    assert.deepEqual(server.requests[0]!.body.tools, [{ name: 'upper', description: 'Upper-cases text', input_schema: tools.get('upper')!.parameters }]);
    assert.deepEqual(server.requests[1]!.body.messages, [
      { role: 'user', content: 'shout keel' },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_9', name: 'upper', input: { text: 'keel' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_9', content: 'KEEL' }] },
    ]);
  });

  it('fails the run with model_error when the stream is cut', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['a', 'b', 'c'] }] }, cutAfterEvents: 4 }]);
    await assert.rejects(
      runAgent({ agent, messages: [{ role: 'user', content: 'hi' }], providers: new ProviderRegistry([providerFor(server.baseUrl)]) }),
      (err: unknown) => err instanceof RunError && err.code === 'model_error' && /stream was cut/.test(err.message),
    );
  });

  it('ends cancelled with the output so far when the caller aborts, and the upstream connection closes', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['first', 'never'] }] }, holdOpenAfterEvents: 4 }]);
    const abort = new AbortController();
    const outcome = await runAgent({
      agent,
      messages: [{ role: 'user', content: 'hi' }],
      providers: new ProviderRegistry([providerFor(server.baseUrl)]),
      signal: abort.signal,
      onDelta: () => abort.abort(),
    });
    assert.equal(outcome.finishReason, 'cancelled');
    assert.equal(outcome.output, 'first');
    assert.equal(await server.requests[0]!.closed, 'client_closed');
  });
});
