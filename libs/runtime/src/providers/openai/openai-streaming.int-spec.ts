import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { startFakeOpenAI, type FakeOpenAIHandle, type FakeReply } from '@keelson/testing';
import { builtinAgents } from '../../agents/builtin-agents';
import { ProviderRegistry, type ModelRequest } from '../../model/provider';
import { runAgent } from '../../run/run-agent';
import { ToolRegistry } from '../../tools/tool-registry';
import { collectChunks } from './collect-chunks';
import { OpenAICompatibleProvider } from './openai-compatible-provider';

const KEY = 'sk-test-streaming-0123456789';
const servers: FakeOpenAIHandle[] = [];
after(() => Promise.all(servers.map((s) => s.stop())));

async function setup(script: FakeReply[]) {
  const fake = await startFakeOpenAI(script, { apiKey: KEY });
  servers.push(fake);
  const provider = new OpenAICompatibleProvider({ name: 'local-openai', baseUrl: fake.baseUrl, apiKey: async () => KEY, maxRetries: 0 });
  return { fake, provider };
}

const req: ModelRequest = { model: 'gpt-test', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hello there' }] };

describe('OpenAICompatibleProvider streaming', () => {
  it('streams text deltas, then usage (cached tokens included), then finish', async () => {
    const { provider } = await setup([{ text: ['Hel', 'lo', ' world'], usage: { promptTokens: 12, completionTokens: 3, cachedTokens: 8 } }]);
    const chunks = await collectChunks(provider, req);
    assert.deepEqual(chunks, [
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'text', text: ' world' },
      { type: 'usage', usage: { inputTokens: 12, outputTokens: 3, totalTokens: 15, cachedInputTokens: 8 } },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('sends the chat-completions body and the Bearer key', async () => {
    const { fake, provider } = await setup([{ text: 'ok' }]);
    const tools = [{ name: 'lookup', description: 'Look a word up', parameters: { type: 'object', properties: { word: { type: 'string' } } } }];
    await collectChunks(provider, { ...req, tools, maxOutputTokens: 64 });
    const [sent] = fake.requests;
    assert.equal(sent!.path, '/v1/chat/completions');
    assert.equal(sent!.headers.authorization, `Bearer ${KEY}`);
    assert.deepEqual(sent!.body, {
      model: 'gpt-test',
      messages: req.messages,
      tools: [{ type: 'function', function: tools[0] }],
      max_tokens: 64,
      stream: true,
      stream_options: { include_usage: true },
    });
  });

  it('carries a tool call id and name over its argument fragments; finish_reason tool_calls is tool_calls', async () => {
    const { provider } = await setup([{ toolCalls: [{ id: 'call_abc', name: 'lookup', arguments: ['{"wo', 'rd":', '"keel"}'] }] }]);
    const chunks = await collectChunks(provider, req);
    const calls = chunks.filter((c) => c.type === 'tool_call');
    assert.ok(calls.every((c) => c.id === 'call_abc' && c.name === 'lookup'));
    assert.equal(calls.map((c) => c.argumentsDelta).join(''), '{"word":"keel"}');
    assert.equal(calls.length, 4, 'the opening fragment and three argument fragments');
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'tool_calls' });
  });

  it('sends tool turns as assistant tool_calls and role tool messages', async () => {
    const { fake, provider } = await setup([{ text: 'ok' }]);
    await collectChunks(provider, {
      model: 'gpt-test',
      messages: [
        { role: 'user', content: 'Look up keel' },
        { role: 'assistant', content: '', toolCalls: [{ id: 'call_1', name: 'lookup', arguments: '{"word":"keel"}' }] },
        { role: 'tool', toolCallId: 'call_1', name: 'lookup', content: 'the spine of a ship' },
        { role: 'assistant', content: 'One more.', toolCalls: [{ id: 'call_2', name: 'lookup', arguments: '{"word":' }] },
        { role: 'tool', toolCallId: 'call_2', name: 'lookup', content: 'Error: invalid JSON', isError: true },
      ],
    });
    assert.deepEqual((fake.requests[0]!.body as { messages: unknown }).messages, [
      { role: 'user', content: 'Look up keel' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'lookup', arguments: '{"word":"keel"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: 'the spine of a ship' },
      { role: 'assistant', content: 'One more.', tool_calls: [{ id: 'call_2', type: 'function', function: { name: 'lookup', arguments: '{"word":' } }] },
      { role: 'tool', tool_call_id: 'call_2', content: 'Error: invalid JSON' },
    ]);
  });

  it('maps finish_reason length', async () => {
    const { provider } = await setup([{ text: 'cut short', finishReason: 'length' }]);
    assert.deepEqual((await collectChunks(provider, req)).at(-1), { type: 'finish', reason: 'length' });
  });

  it('uses defaultModel when the request names none', async () => {
    const fake = await startFakeOpenAI([{ text: 'ok' }]);
    servers.push(fake);
    const provider = new OpenAICompatibleProvider({ baseUrl: `${fake.baseUrl}/`, defaultModel: 'llama-local' });
    assert.equal(provider.name, 'openai');
    await collectChunks(provider, { ...req, model: '' });
    assert.equal((fake.requests[0]!.body as { model: string }).model, 'llama-local');
    assert.equal(fake.requests[0]!.headers.authorization, undefined, 'no key, no Authorization header');
  });

  it('runs an agent end to end through runAgent', async () => {
    const { provider } = await setup([{ text: 'Hi from the fake.', usage: { promptTokens: 20, completionTokens: 5 } }]);
    const base = builtinAgents()[0]!;
    const agent = { ...base, model: { provider: 'local-openai', name: 'gpt-test' } };
    const deltas: string[] = [];
    const outcome = await runAgent({
      agent,
      messages: [{ role: 'user', content: 'Hi' }],
      providers: new ProviderRegistry([provider]),
      onDelta: (text) => deltas.push(text),
    });
    assert.equal(outcome.output, 'Hi from the fake.');
    assert.equal(deltas.join(''), 'Hi from the fake.');
    assert.equal(outcome.finishReason, 'stop');
    assert.deepEqual({ ...outcome.usage }, { inputTokens: 20, outputTokens: 5, totalTokens: 25, cachedInputTokens: 0 });
  });

  it('runs a tool loop end to end: tool_calls, then the tool message in the next request, then the answer', async () => {
    const { fake, provider } = await setup([
      { toolCalls: [{ id: 'call_up', name: 'upper', arguments: ['{"text"', ':"keel"}'] }], usage: { promptTokens: 30, completionTokens: 8 } },
      { text: 'KEEL', usage: { promptTokens: 50, completionTokens: 2 } },
    ]);
    const tools = new ToolRegistry([
      {
        name: 'upper',
        description: 'Upper-cases text',
        parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
        run: async (args) => String(args['text']).toUpperCase(),
      },
    ]);
    const base = builtinAgents()[0]!;
    const agent = { ...base, systemPrompt: '', tools: ['upper'], limits: { ...base.limits, maxSteps: 3 }, model: { provider: 'local-openai', name: 'gpt-test' } };
    const outcome = await runAgent({ agent, messages: [{ role: 'user', content: 'shout keel' }], providers: new ProviderRegistry([provider]), tools });
    assert.equal(outcome.output, 'KEEL');
    assert.equal(outcome.usage.totalTokens, 90);
    assert.deepEqual((fake.requests[1]!.body as { messages: unknown }).messages, [
      { role: 'user', content: 'shout keel' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_up', type: 'function', function: { name: 'upper', arguments: '{"text":"keel"}' } }] },
      { role: 'tool', tool_call_id: 'call_up', content: 'KEEL' },
    ]);
  });
});
