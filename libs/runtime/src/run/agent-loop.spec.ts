import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage, ToolCall } from '@keelson/contracts';
import type { AgentDefinition } from '../agents/agent-definition';
import { builtinAgents } from '../agents/builtin-agents';
import { ProviderRegistry, type ModelChunk, type ModelRequest } from '../model/provider';
import type { Tool, ToolResult } from '../tools/tool';
import { ToolRegistry } from '../tools/tool-registry';
import { runAgent } from './run-agent';
import { RunError } from './run-error';

const base = builtinAgents()[0]!;
const agent: AgentDefinition = { ...base, systemPrompt: '', tools: ['add', 'echo'], limits: { ...base.limits, maxSteps: 5 } };
const user = (content: string): ChatMessage => ({ role: 'user', content });

/** A provider that plays one scripted step per model call and records every request. */
function scripted(steps: ModelChunk[][]) {
  const requests: ModelRequest[] = [];
  const providers = new ProviderRegistry([
    {
      name: agent.model.provider!,
      async *stream(req) {
        requests.push(structuredClone(req));
        const step = steps[requests.length - 1];
        if (!step) throw new Error(`no scripted step ${requests.length}`);
        yield* step;
      },
    },
  ]);
  return { providers, requests };
}

const call = (id: string, name: string, args: string): ModelChunk => ({ type: 'tool_call', id, name, argumentsDelta: args });
const usage = (inputTokens: number, outputTokens: number, cachedInputTokens?: number): ModelChunk => ({
  type: 'usage',
  usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens, ...(cachedInputTokens !== undefined ? { cachedInputTokens } : {}) },
});
const toolsFinish: ModelChunk = { type: 'finish', reason: 'tool_calls' };
const answer = (text: string): ModelChunk[] => [{ type: 'text', text }, usage(10, 2), { type: 'finish', reason: 'stop' }];

const add: Tool = {
  name: 'add',
  description: 'Adds two numbers',
  parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'], additionalProperties: false },
  async run(args) {
    return String(Number(args['a']) + Number(args['b']));
  },
};
const echo: Tool = {
  name: 'echo',
  description: 'Echoes text',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  async run(args) {
    return String(args['text']);
  },
};
const secret: Tool = { name: 'secret', description: 'Not for this agent', parameters: { type: 'object' }, run: async () => 'leaked' };
const tools = () => new ToolRegistry([add, echo, secret]);

function observe() {
  const events: string[] = [];
  return {
    events,
    onToolCall: (c: ToolCall) => events.push(`call ${c.id} ${c.name} ${c.arguments}`),
    onToolResult: (r: ToolResult) => events.push(`result ${r.callId} ${r.ok ? `ok ${r.content}` : `error ${r.error}`}`),
  };
}

describe('runAgent with tools (the agent loop)', () => {
  it('runs a tool call, gives the result back, and ends on the final answer', async () => {
    const { providers, requests } = scripted([
      [{ type: 'text', text: 'Let me add. ' }, call('c1', 'add', '{"a":2,"b":3}'), usage(10, 5), toolsFinish],
      answer('It is 5.'),
    ]);
    const seen = observe();
    const outcome = await runAgent({ agent, messages: [user('2+3?')], providers, tools: tools(), ...seen });
    assert.equal(outcome.output, 'Let me add. It is 5.');
    assert.equal(outcome.finishReason, 'stop');
    assert.deepEqual(seen.events, ['call c1 add {"a":2,"b":3}', 'result c1 ok 5']);
    assert.deepEqual(
      requests[0]!.tools!.map((t) => t.name),
      ['add', 'echo'],
      'only the tools the agent lists are offered',
    );
    assert.deepEqual(requests[1]!.messages, [
      user('2+3?'),
      { role: 'assistant', content: 'Let me add. ', toolCalls: [{ id: 'c1', name: 'add', arguments: '{"a":2,"b":3}' }] },
      { role: 'tool', toolCallId: 'c1', name: 'add', content: '5' },
    ]);
  });

  it('sums usage over steps, cached input tokens included', async () => {
    const { providers } = scripted([
      [call('c1', 'add', '{"a":1,"b":1}'), usage(100, 10, 40), toolsFinish],
      [{ type: 'text', text: '2' }, usage(120, 3, 90), { type: 'finish', reason: 'stop' }],
    ]);
    const outcome = await runAgent({ agent, messages: [user('1+1?')], providers, tools: tools() });
    assert.deepEqual(outcome.usage, { inputTokens: 220, outputTokens: 13, totalTokens: 233, cachedInputTokens: 130 });
  });

  it('runs two calls of one step and answers both, in call order', async () => {
    const { providers, requests } = scripted([
      [call('c1', 'add', '{"a":1,"b":2}'), call('c2', 'echo', '{"text":"hi"}'), toolsFinish],
      answer('done'),
    ]);
    const seen = observe();
    await runAgent({ agent, messages: [user('go')], providers, tools: tools(), ...seen });
    assert.deepEqual(seen.events.slice(0, 2), ['call c1 add {"a":1,"b":2}', 'call c2 echo {"text":"hi"}']);
    assert.deepEqual(new Set(seen.events.slice(2)), new Set(['result c1 ok 3', 'result c2 ok hi']));
    assert.deepEqual(requests[1]!.messages.slice(-2), [
      { role: 'tool', toolCallId: 'c1', name: 'add', content: '3' },
      { role: 'tool', toolCallId: 'c2', name: 'echo', content: 'hi' },
    ]);
  });

  it('assembles a call from its argument fragments, interleaved with another call', async () => {
    const { providers, requests } = scripted([
      [call('c1', 'add', ''), call('c1', '', '{"a":'), call('c2', 'echo', '{"te'), call('c1', 'add', '4,"b":5}'), call('c2', 'echo', 'xt":"x"}'), toolsFinish],
      answer('9'),
    ]);
    const seen = observe();
    await runAgent({ agent, messages: [user('go')], providers, tools: tools(), ...seen });
    assert.deepEqual(seen.events.slice(0, 2), ['call c1 add {"a":4,"b":5}', 'call c2 echo {"text":"x"}']);
    assert.equal(requests.length, 2);
  });

  it('answers invalid JSON with an error result, and the model recovers', async () => {
    const { providers, requests } = scripted([
      [call('c1', 'add', '{"a":1,'), toolsFinish],
      [call('c2', 'add', '{"a":1,"b":"two"}'), toolsFinish],
      [call('c3', 'add', '{"a":1,"b":2}'), toolsFinish],
      answer('3'),
    ]);
    const seen = observe();
    const outcome = await runAgent({ agent, messages: [user('1+2')], providers, tools: tools(), ...seen });
    assert.equal(outcome.output, '3');
    const [bad, invalid] = [requests[1]!.messages.at(-1)!, requests[2]!.messages.at(-1)!];
    assert.ok(bad.role === 'tool' && bad.isError === true && /not valid JSON/.test(bad.content), JSON.stringify(bad));
    assert.ok(invalid.role === 'tool' && invalid.isError === true && /\/b must be number/.test(invalid.content), JSON.stringify(invalid));
    assert.equal(seen.events[5], 'result c3 ok 3');
  });

  it('answers an unknown tool and a tool the agent may not use with errors, without running them', async () => {
    const { providers, requests } = scripted([[call('c1', 'nope', '{}'), call('c2', 'secret', '{}'), toolsFinish], answer('sorry')]);
    const seen = observe();
    const outcome = await runAgent({ agent, messages: [user('go')], providers, tools: tools(), ...seen });
    assert.equal(outcome.output, 'sorry');
    assert.match(seen.events.find((e) => e.startsWith('result c1'))!, /error unknown tool "nope"/);
    assert.match(seen.events.find((e) => e.startsWith('result c2'))!, /error tool "secret" is not allowed for agent "assistant"/);
    assert.ok(!JSON.stringify(requests[1]!.messages).includes('leaked'));
  });

  it('answers a call as an unknown tool when the run has no tool registry', async () => {
    const { providers, requests } = scripted([[call('c1', 'add', '{"a":1,"b":2}'), toolsFinish], answer('ok')]);
    const outcome = await runAgent({ agent, messages: [user('go')], providers });
    assert.equal(outcome.output, 'ok');
    assert.equal(requests[0]!.tools, undefined, 'no tools offered');
    assert.match(requests[1]!.messages.at(-1)!.content, /unknown tool "add"/);
  });

  it('answers a tool that throws, and one that outlives its timeout, with errors', async () => {
    const failing: Tool = { ...echo, name: 'echo', run: async () => Promise.reject(new Error('disk on fire')) };
    const hanging: Tool = { ...add, name: 'add', run: () => new Promise<string>(() => undefined) };
    const { providers } = scripted([[call('c1', 'echo', '{"text":"x"}'), call('c2', 'add', '{"a":1,"b":1}'), toolsFinish], answer('ok')]);
    const seen = observe();
    await runAgent({ agent, messages: [user('go')], providers, tools: new ToolRegistry([failing, hanging]), toolTimeoutMs: 10, ...seen });
    assert.ok(seen.events.includes('result c1 error disk on fire'));
    assert.ok(seen.events.includes('result c2 error tool "add" timed out after 10 ms'));
  });

  it('throws RunError max_steps when the model still calls tools at limits.maxSteps, without running them', async () => {
    const loop = [call('c', 'echo', '{"text":"again"}'), toolsFinish];
    const { providers, requests } = scripted([loop, loop, loop]);
    const seen = observe();
    const limited = { ...agent, limits: { ...agent.limits, maxSteps: 2 } };
    await assert.rejects(runAgent({ agent: limited, messages: [user('go')], providers, tools: tools(), ...seen }), (err) => {
      assert.ok(err instanceof RunError && err.code === 'max_steps', String(err));
      assert.match(err.message, /after 2 model calls/);
      return true;
    });
    assert.equal(requests.length, 2);
    assert.equal(seen.events.filter((e) => e.startsWith('call')).length, 1, 'the last step\'s calls were not run');
  });

  it('ends cancelled between steps when the caller aborts during a tool, without calling the model again', async () => {
    const abort = new AbortController();
    const slow: Tool = {
      ...echo,
      run: (_args, ctx) =>
        new Promise<string>((_resolve, reject) => {
          abort.abort(new Error('user left'));
          ctx.signal.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
        }),
    };
    const { providers, requests } = scripted([[{ type: 'text', text: 'Working. ' }, call('c1', 'echo', '{"text":"x"}'), toolsFinish], answer('never')]);
    const outcome = await runAgent({ agent, messages: [user('go')], providers, tools: new ToolRegistry([slow]), signal: abort.signal });
    assert.equal(outcome.finishReason, 'cancelled');
    assert.equal(outcome.output, 'Working. ');
    assert.equal(requests.length, 1);
  });

  it('maps a step that ends in tool calls but reports finish stop the same way (some servers do)', async () => {
    const { providers } = scripted([[call('c1', 'add', '{"a":1,"b":1}'), { type: 'finish', reason: 'stop' }], answer('2')]);
    const outcome = await runAgent({ agent, messages: [user('go')], providers, tools: tools() });
    assert.equal(outcome.output, '2');
    assert.equal(outcome.finishReason, 'stop');
  });

  it('steering: messages sent while a step ran join the conversation before the next model call', async () => {
    const { providers, requests } = scripted([[call('c1', 'add', '{"a":1,"b":1}'), toolsFinish], answer('2, and hello')]);
    const asked: number[] = [];
    const inbox = [['also say hello']];
    const steering = async () => {
      asked.push(requests.length);
      return inbox.shift() ?? [];
    };
    const outcome = await runAgent({ agent, messages: [user('1+1?')], providers, tools: tools(), steering });
    assert.equal(outcome.output, '2, and hello');
    assert.deepEqual(asked, [1], 'asked once, between the two model calls, never after the final answer');
    assert.deepEqual(requests[1]!.messages.slice(-2), [{ role: 'tool', toolCallId: 'c1', name: 'add', content: '2' }, user('also say hello')]);
  });

  it('steering: a failure to read the messages ends the run with that error', async () => {
    const { providers } = scripted([[call('c1', 'add', '{"a":1,"b":1}'), toolsFinish], answer('2')]);
    const steering = () => Promise.reject(new Error('redis down'));
    await assert.rejects(runAgent({ agent, messages: [user('1+1?')], providers, tools: tools(), steering }), /redis down/);
  });
});
