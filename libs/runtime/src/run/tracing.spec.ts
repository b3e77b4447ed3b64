import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, SpanKind, SpanStatusCode, trace, type SpanContext } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import type { ChatMessage } from '@keelson/contracts';
import { DEFAULT_EFFECTIVE_POLICY, InlineGuard } from '@keelson/guard';
import type { AgentDefinition } from '../agents/agent-definition';
import { builtinAgents } from '../agents/builtin-agents';
import { ProviderRegistry, type ModelChunk } from '../model/provider';
import type { Tool } from '../tools/tool';
import { ToolRegistry } from '../tools/tool-registry';
import { runAgent } from './run-agent';
import { RunError } from './run-error';

const base = builtinAgents()[0]!;
const agent: AgentDefinition = {
  ...base,
  systemPrompt: 'SYSTEM-PROMPT-SECRET',
  tools: ['lookup'],
  model: { provider: base.model.provider!, name: base.model.name!, temperature: 0.2 },
  limits: { ...base.limits, maxSteps: 4 },
};
const user = (content: string): ChatMessage => ({ role: 'user', content });
// Every piece of text in this run; none may appear in any exported span.
const USER_TEXT = 'USER-TEXT-alice@example.com';
const ARGS = '{"q":"TOOL-ARGS-SECRET"}';
const RESULT = 'TOOL-RESULT-SECRET';
const ANSWER_1 = 'MODEL-TEXT-ONE ';
const ANSWER_2 = 'MODEL-TEXT-TWO';

function scripted(steps: (ModelChunk[] | Error)[]) {
  let calls = 0;
  return new ProviderRegistry([
    {
      name: agent.model.provider!,
      async *stream() {
        const step = steps[calls++];
        if (step instanceof Error) throw step;
        yield* step ?? [];
      },
    },
  ]);
}
const usage = (inputTokens: number, outputTokens: number): ModelChunk => ({ type: 'usage', usage: { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens } });
const lookup = (fails = false): Tool => ({
  name: 'lookup',
  description: 'looks up',
  parameters: { type: 'object' },
  run: async () => {
    if (fails) throw new Error(`lookup failed for ${ARGS}`);
    return RESULT;
  },
});
const toolStep: ModelChunk[] = [{ type: 'text', text: ANSWER_1 }, { type: 'tool_call', id: 'call_1', name: 'lookup', argumentsDelta: ARGS }, usage(20, 7), { type: 'finish', reason: 'tool_calls' }];
const answerStep: ModelChunk[] = [{ type: 'text', text: ANSWER_2 }, usage(30, 4), { type: 'finish', reason: 'stop' }];

describe('the spans of an agent run (GenAI conventions)', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const contextManager = new AsyncLocalStorageContextManager();
  const parentOf = (s: ReadableSpan): string | undefined =>
    (s as ReadableSpan & { parentSpanContext?: SpanContext }).parentSpanContext?.spanId ?? (s as ReadableSpan & { parentSpanId?: string }).parentSpanId;
  const named = (prefix: string) => exporter.getFinishedSpans().filter((s) => s.name.startsWith(prefix));

  before(() => {
    context.setGlobalContextManager(contextManager.enable());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  it('a cache hit leaves no chat span (no model was asked) but an event on the run span', async () => {
    const cold = { ...agent, tools: [], model: { ...agent.model, temperature: 0 } };
    const cache = { get: async () => ({ text: 'CACHED-ANSWER', finishReason: 'stop' as const }), put: async () => undefined };
    const outcome = await runAgent({ agent: cold, messages: [user('hello')], providers: scripted([]), tools: new ToolRegistry([]), cache, tenant: 'acme' });
    assert.equal(outcome.output, 'CACHED-ANSWER');
    assert.deepEqual(named('chat '), []);
    const [run] = named('invoke_agent ');
    const hit = run!.events.find((e) => e.name === 'keelson.response_cache.hit');
    assert.ok(hit, `events: ${run!.events.map((e) => e.name).join(', ')}`);
    assert.equal(hit.attributes?.['gen_ai.request.model'], cold.model.name);
    assert.equal(hit.attributes?.['keelson.gen_ai.call_index'], 0);
  });

  it('a run with a tool call is invoke_agent > chat, execute_tool, chat, guard checks, with no text in any span', async () => {
    const guard = await new InlineGuard({ policies: { effective: async () => DEFAULT_EFFECTIVE_POLICY } }).forRun('acme', agent.id);
    const outcome = await trace.getTracer('test').startActiveSpan('request', async (root) => {
      try {
        return await runAgent({ agent, messages: [user(USER_TEXT)], providers: scripted([toolStep, answerStep]), tools: new ToolRegistry([lookup()]), guard, tenant: 'acme' });
      } finally {
        root.end();
      }
    });
    assert.equal(outcome.finishReason, 'stop');

    const spans = exporter.getFinishedSpans();
    const [root] = named('request');
    const [run] = named('invoke_agent ');
    assert.ok(root && run, `expected a root and an invoke_agent span, got ${spans.map((s) => s.name).join(', ')}`);
    assert.equal(run.name, `invoke_agent ${agent.id}`);
    assert.equal(run.kind, SpanKind.INTERNAL);
    assert.equal(parentOf(run), root.spanContext().spanId);
    assert.equal(run.attributes['gen_ai.operation.name'], 'invoke_agent');
    assert.equal(run.attributes['gen_ai.agent.id'], agent.id);
    assert.equal(run.attributes['gen_ai.agent.name'], agent.id);
    assert.equal(run.attributes['keelson.tenant'], 'acme');
    assert.deepEqual(run.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.equal(run.attributes['gen_ai.usage.input_tokens'], 50);
    assert.equal(run.attributes['gen_ai.usage.output_tokens'], 11);

    // Children of the run, in the order they started.
    const children = spans.filter((s) => parentOf(s) === run.spanContext().spanId).sort((a, b) => (a.startTime[0] - b.startTime[0]) || (a.startTime[1] - b.startTime[1]));
    assert.deepEqual(
      children.filter((s) => !s.name.startsWith('guard.')).map((s) => s.name),
      [`chat ${agent.model.name}`, 'execute_tool lookup', `chat ${agent.model.name}`],
    );
    assert.ok(spans.every((s) => s.spanContext().traceId === root.spanContext().traceId), 'every span is in the one trace');

    const chats = named('chat ');
    assert.equal(chats.length, 2);
    for (const chat of chats) {
      assert.equal(chat.kind, SpanKind.CLIENT);
      assert.equal(chat.attributes['gen_ai.operation.name'], 'chat');
      assert.equal(chat.attributes['gen_ai.provider.name'], agent.model.provider);
      assert.equal(chat.attributes['gen_ai.request.model'], agent.model.name);
      assert.equal(chat.attributes['gen_ai.response.model'], agent.model.name);
      assert.equal(chat.attributes['gen_ai.request.max_tokens'], agent.limits.maxOutputTokens);
      assert.equal(chat.attributes['gen_ai.request.temperature'], 0.2);
      assert.equal(typeof chat.attributes['keelson.gen_ai.time_to_first_token'], 'number');
      assert.equal(chat.status.code, SpanStatusCode.UNSET);
    }
    const [first, second] = chats.sort((a, b) => (a.startTime[0] - b.startTime[0]) || (a.startTime[1] - b.startTime[1]));
    assert.deepEqual(first!.attributes['gen_ai.response.finish_reasons'], ['tool_calls']);
    assert.equal(first!.attributes['gen_ai.usage.input_tokens'], 20);
    assert.equal(first!.attributes['gen_ai.usage.output_tokens'], 7);
    assert.equal(first!.attributes['keelson.gen_ai.tool_calls'], 1);
    assert.deepEqual(second!.attributes['gen_ai.response.finish_reasons'], ['stop']);
    assert.equal(second!.attributes['gen_ai.usage.output_tokens'], 4);

    const [tool] = named('execute_tool ');
    assert.equal(tool!.kind, SpanKind.INTERNAL);
    assert.equal(tool!.attributes['gen_ai.operation.name'], 'execute_tool');
    assert.equal(tool!.attributes['gen_ai.tool.name'], 'lookup');
    assert.equal(tool!.attributes['gen_ai.tool.call.id'], 'call_1');
    assert.equal(tool!.status.code, SpanStatusCode.UNSET);

    // The guard: the user's message and the tool result checked on the way in, each model call's output filter
    // and the run log's redactions on the way out.
    const inputs = named('guard.input');
    assert.deepEqual(inputs.map((s) => s.attributes['keelson.guard.source']).sort(), ['tool', 'user']);
    for (const s of inputs) {
      assert.equal(s.attributes['keelson.guard.action'], 'allow');
      assert.equal(typeof s.attributes['keelson.guard.score'], 'number');
      assert.equal(s.attributes['keelson.guard.findings'], 0);
    }
    const outputs = named('guard.output');
    assert.ok(outputs.length >= 2, `an output span per model call's filter, got ${outputs.length}`);
    assert.ok(outputs.every((s) => typeof s.attributes['keelson.guard.findings'] === 'number' && typeof s.attributes['keelson.guard.action'] === 'string'));

    const dump = JSON.stringify(spans.map((s) => ({ name: s.name, attributes: s.attributes, events: s.events, status: s.status })));
    for (const secret of ['USER-TEXT', 'alice@example.com', 'TOOL-ARGS-SECRET', RESULT, 'MODEL-TEXT', 'SYSTEM-PROMPT-SECRET']) {
      assert.ok(!dump.includes(secret), `no span may carry "${secret}": ${dump}`);
    }
  });

  it('a failed tool marks its span failed without its message; a failed model call records error.type', async () => {
    const failing = runAgent({ agent, messages: [user(USER_TEXT)], providers: scripted([toolStep, new Error('upstream 503')]), tools: new ToolRegistry([lookup(true)]) });
    await assert.rejects(failing, (err: unknown) => err instanceof RunError && err.code === 'model_error');

    const [tool] = named('execute_tool ');
    assert.equal(tool!.status.code, SpanStatusCode.ERROR);
    assert.equal(tool!.attributes['error.type'], 'tool_error');
    assert.ok(!JSON.stringify([tool!.status, tool!.attributes, tool!.events]).includes('TOOL-ARGS-SECRET'), 'the tool error (which quotes the arguments) is not recorded');

    const chats = named('chat ');
    assert.equal(chats.length, 2);
    const failed = chats.find((s) => s.status.code === SpanStatusCode.ERROR);
    assert.equal(failed?.attributes['error.type'], 'model_error', 'the failed model call');
    const [run] = named('invoke_agent ');
    assert.equal(run!.status.code, SpanStatusCode.ERROR);
    assert.equal(run!.attributes['error.type'], 'model_error');
  });
});
