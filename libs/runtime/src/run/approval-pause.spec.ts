import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { AgentDefinition } from '../agents/agent-definition';
import { builtinAgents } from '../agents/builtin-agents';
import { ProviderRegistry, type ModelChunk, type ModelRequest } from '../model/provider';
import type { Tool } from '../tools/tool';
import { ToolRegistry } from '../tools/tool-registry';
import { RunPaused, runAgent, type RunCheckpoint } from './run-agent';

const base = builtinAgents()[0]!;
const agent: AgentDefinition = {
  ...base,
  systemPrompt: 'sys',
  tools: ['add', 'echo'],
  approval: { tools: ['add'], timeoutSeconds: 60 },
  limits: { ...base.limits, maxSteps: 5 },
};

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

const usage = (i: number, o: number): ModelChunk => ({ type: 'usage', usage: { inputTokens: i, outputTokens: o, totalTokens: i + o } });
const callsStep: ModelChunk[] = [
  { type: 'text', text: 'let me add. ' },
  { type: 'tool_call', id: 'c1', name: 'add', argumentsDelta: '{"a":2,"b":3}' },
  { type: 'tool_call', id: 'c2', name: 'echo', argumentsDelta: '{"text":"hi"}' },
  usage(5, 1),
  { type: 'finish', reason: 'tool_calls' },
];
const answer: ModelChunk[] = [{ type: 'text', text: 'done' }, usage(10, 2), { type: 'finish', reason: 'stop' }];

let added = 0;
const add: Tool = {
  name: 'add',
  description: 'Adds',
  parameters: { type: 'object', properties: { a: { type: 'number' }, b: { type: 'number' } }, required: ['a', 'b'] },
  async run(args) {
    added++;
    return String(Number(args['a']) + Number(args['b']));
  },
};
const echo: Tool = { name: 'echo', description: 'Echoes', parameters: { type: 'object' }, run: async (args) => String(args['text']) };
const tools = () => new ToolRegistry([add, echo]);

async function pause(): Promise<RunPaused> {
  const { providers } = scripted([callsStep]);
  const err = await runAgent({ agent, messages: [{ role: 'user', content: 'add 2 and 3' }], providers, tools: tools(), pauseForApproval: true }).catch((e: unknown) => e);
  assert.ok(err instanceof RunPaused, String(err));
  return err;
}

describe('runAgent: tools that need approval', () => {
  it('pauses before running any call of the step, with a JSON checkpoint', async () => {
    const before = added;
    const paused = await pause();
    assert.equal(added, before, 'nothing ran');
    assert.equal(paused.call.id, 'c1');
    const cp = JSON.parse(JSON.stringify(paused.checkpoint)) as RunCheckpoint;
    assert.deepEqual(cp.messages, [{ role: 'user', content: 'add 2 and 3' }]);
    assert.deepEqual(cp.calls.map((c) => c.id), ['c1', 'c2']);
    assert.equal(cp.step, 1);
    assert.equal(cp.output, 'let me add. ');
    assert.deepEqual(cp.usage, { inputTokens: 5, outputTokens: 1, totalTokens: 6 });
    assert.deepEqual(cp.decisions, {});
  });

  it('resumes an approved call: the tool runs and the loop continues to the answer', async () => {
    const { checkpoint } = await pause();
    const { providers, requests } = scripted([answer]);
    const before = added;
    const outcome = await runAgent({
      agent,
      messages: [],
      providers,
      tools: tools(),
      pauseForApproval: true,
      resume: { ...checkpoint, decisions: { c1: { approved: true } } },
    });
    assert.equal(added, before + 1);
    assert.equal(outcome.output, 'let me add. done');
    assert.deepEqual(outcome.usage, { inputTokens: 15, outputTokens: 3, totalTokens: 18 });
    const sent = requests[0]!.messages;
    assert.deepEqual(sent.map((m) => m.role), ['system', 'user', 'assistant', 'tool', 'tool']);
    assert.equal(sent[3]!.content, '5');
    assert.equal(sent[4]!.content, 'hi');
  });

  it('gives a rejection to the model as the call error, without running the tool', async () => {
    const { checkpoint } = await pause();
    const { providers, requests } = scripted([answer]);
    const before = added;
    await runAgent({ agent, messages: [], providers, tools: tools(), resume: { ...checkpoint, decisions: { c1: { approved: false, reason: 'no' } } } });
    assert.equal(added, before);
    assert.equal(requests[0]!.messages[3]!.content, 'Error: a human rejected this call to "add": no');
  });

  it('answers such a call as an error when the caller cannot pause', async () => {
    const { providers, requests } = scripted([callsStep, answer]);
    const before = added;
    await runAgent({ agent, messages: [{ role: 'user', content: 'x' }], providers, tools: tools() });
    assert.equal(added, before);
    assert.match(requests[1]!.messages[3]!.content, /needs a human's approval/);
  });
});
