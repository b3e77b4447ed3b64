import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { BudgetState, ChatMessage, Usage, UsageStatus } from '@keelson/contracts';
import { builtinAgents } from '../agents/builtin-agents';
import type { AgentDefinition } from '../agents/agent-definition';
import { ProviderRegistry, type ModelChunk, type ModelProvider } from '../model/provider';
import { OfflineModel } from '../model/offline-model';
import { ToolRegistry } from '../tools/tool-registry';
import type { BudgetRefusal, MeteredModelCall, ModelCallMetering } from './metering';
import { runAgent } from './run-agent';
import { RunError } from './run-error';

const base = builtinAgents()[0]!;
const agent: AgentDefinition = { ...base, systemPrompt: '', tools: ['echo'], limits: { ...base.limits, maxSteps: 4 } };
const user = (content: string): ChatMessage => ({ role: 'user', content });
const budget: BudgetState = {
  scope: 'tenant',
  window: 'day',
  limitMicroUsd: 1_000,
  spentMicroUsd: 1_000,
  reservedMicroUsd: 0,
  remainingMicroUsd: 0,
  resetsAt: '2026-11-28T00:00:00.000Z',
  spentTokens: 0,
  reservedTokens: 0,
};
const refusal: BudgetRefusal = { refused: budget, message: 'the tenant budget (day) has 0 USD left' };

/** Records every begin and finish; refuses the call `refuseAt`, cuts after `cutAfterChars` of output. */
function recordingMeter(opts: { refuseAt?: number; cutAfterChars?: number } = {}) {
  const begun: number[] = [];
  const finished: { callIndex: number; status: UsageStatus; usage?: Usage; output: string }[] = [];
  const metering: ModelCallMetering = {
    async begin({ callIndex }) {
      if (callIndex === opts.refuseAt) return refusal;
      begun.push(callIndex);
      let output = '';
      const call: MeteredModelCall = {
        async onOutput(text) {
          output += text;
          return opts.cutAfterChars !== undefined && output.length >= opts.cutAfterChars ? refusal : undefined;
        },
        async finish(end) {
          finished.push({ callIndex, ...end, output });
        },
      };
      return call;
    },
  };
  return { metering, begun, finished };
}

/** A provider that streams forever until its signal aborts, and says whether it saw the abort. */
function endless(): { provider: ModelProvider; aborted: () => boolean } {
  let aborted = false;
  return {
    aborted: () => aborted,
    provider: {
      name: agent.model.provider!,
      async *stream(_req, signal): AsyncIterable<ModelChunk> {
        signal?.addEventListener('abort', () => (aborted = true), { once: true });
        for (let i = 0; !signal?.aborted; i++) {
          yield { type: 'text', text: `word${i} ` };
          await new Promise((resolve) => setImmediate(resolve));
        }
      },
    },
  };
}

describe('runAgent with metering', () => {
  it('meters every model call once, with the provider\'s usage, in call order', async () => {
    let step = 0;
    const provider: ModelProvider = {
      name: agent.model.provider!,
      async *stream(): AsyncIterable<ModelChunk> {
        if (step++ === 0) {
          yield { type: 'tool_call', id: 'c1', name: 'echo', argumentsDelta: '{"text":"hi"}' };
          yield { type: 'usage', usage: { inputTokens: 5, outputTokens: 3, totalTokens: 8 } };
          yield { type: 'finish', reason: 'tool_calls' };
        } else {
          yield { type: 'text', text: 'done' };
          yield { type: 'finish', reason: 'stop' };
        }
      },
    };
    const echo = { name: 'echo', description: 'echo', parameters: { type: 'object' }, run: async () => 'hi' };
    const { metering, finished } = recordingMeter();
    await runAgent({ agent, messages: [user('go')], providers: new ProviderRegistry([provider]), tools: new ToolRegistry([echo]), metering });
    assert.deepEqual(
      finished.map((f) => [f.callIndex, f.status, f.usage?.inputTokens, f.output]),
      [
        [0, 'completed', 5, '{"text":"hi"}'],
        [1, 'completed', undefined, 'done'],
      ],
      'tool-call arguments count as output; a call without usage is left to the meter to estimate',
    );
  });

  it('a refused call never reaches the model and ends the run budget_exceeded, naming the budget', async () => {
    const { metering, finished } = recordingMeter({ refuseAt: 0 });
    const err = await runAgent({ agent, messages: [user('hello')], providers: new ProviderRegistry([new OfflineModel()]), metering }).catch((e: unknown) => e);
    assert.ok(err instanceof RunError);
    assert.equal(err.code, 'budget_exceeded');
    assert.deepEqual(err.budget, budget);
    assert.deepEqual(finished, []);
  });

  it('a cap crossed mid-stream cuts the stream (closing the provider request) and still leaves one truncated record', async () => {
    const { provider, aborted } = endless();
    const { metering, finished } = recordingMeter({ cutAfterChars: 40 });
    const deltas: string[] = [];
    const err = await runAgent({
      agent,
      messages: [user('talk')],
      providers: new ProviderRegistry([provider]),
      metering,
      onDelta: (t) => deltas.push(t),
    }).catch((e: unknown) => e);
    assert.ok(err instanceof RunError && err.code === 'budget_exceeded', String(err));
    assert.match(err.message, /cut off/);
    assert.equal(finished.length, 1);
    assert.equal(finished[0]!.status, 'truncated');
    assert.equal(finished[0]!.output, deltas.join(''), 'the record covers exactly what was streamed');
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(aborted(), true, 'the provider saw the abort');
  });

  it('a cancelled call and a failed call each leave one record', async () => {
    const cancel = new AbortController();
    const { provider } = endless();
    const cancelled = recordingMeter();
    setTimeout(() => cancel.abort(), 5);
    const outcome = await runAgent({ agent, messages: [user('x')], providers: new ProviderRegistry([provider]), metering: cancelled.metering, signal: cancel.signal });
    assert.equal(outcome.finishReason, 'cancelled');
    assert.deepEqual(cancelled.finished.map((f) => f.status), ['cancelled']);

    const failing = recordingMeter();
    await assert.rejects(
      runAgent({ agent, messages: [user('__fail__')], providers: new ProviderRegistry([new OfflineModel()]), metering: failing.metering }),
      (e: unknown) => e instanceof RunError && e.code === 'model_error',
    );
    assert.deepEqual(failing.finished.map((f) => f.status), ['failed']);
  });
});
