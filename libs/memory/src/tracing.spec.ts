import { strict as assert } from 'node:assert';
import { after, before, beforeEach, describe, it } from 'node:test';
import { context, SpanKind, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { AgentMemory, type AgentMemoryPolicy } from './agent-memory';
import type { TurnRecall } from './memory-client';

const semantic: AgentMemoryPolicy = { id: 'helper', memory: { recall: 'semantic', topK: 3 } };

describe('the memory.recall span', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  before(() => {
    context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
    trace.setGlobalTracerProvider(provider);
  });
  after(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
  });
  beforeEach(() => exporter.reset());

  const memoryWith = (recall: TurnRecall, seen: { active?: string } = {}) =>
    new AgentMemory(
      {
        recallForTurn: async () => {
          seen.active = trace.getActiveSpan() && (trace.getActiveSpan() as unknown as { name: string }).name;
          return recall;
        },
        rememberTurn: async () => undefined,
        bind: () => ({ recall: async () => [] }),
      },
      { logger: { info: () => undefined, warn: () => undefined } },
    );

  it('records the outcome and how many memories came back, never the query or the memories, around the recall request', async () => {
    const seen: { active?: string } = {};
    const memory = memoryWith({ memories: [{ id: 'm1', text: 'MEMORY-TEXT likes tea', score: 0.9, metadata: {} } as never], late: false, tokens: 4 }, seen);
    await memory.contextFor({ tenant: 'dev', userId: 'ada' }, semantic, 'QUERY-TEXT what do I drink?');
    const [span] = exporter.getFinishedSpans();
    assert.equal(span?.name, 'memory.recall');
    assert.equal(span.kind, SpanKind.INTERNAL);
    assert.equal(seen.active, 'memory.recall', 'the recall request runs inside the span, so its NATS span is a child');
    assert.deepEqual(
      { outcome: span.attributes['keelson.memory.outcome'], recalled: span.attributes['keelson.memory.recalled'], topK: span.attributes['keelson.memory.top_k'], tokens: span.attributes['keelson.memory.tokens'] },
      { outcome: 'ok', recalled: 1, topK: 3, tokens: 4 },
    );
    const dump = JSON.stringify([span.attributes, span.events]);
    assert.ok(!dump.includes('MEMORY-TEXT') && !dump.includes('QUERY-TEXT'), dump);
  });

  it('says late or unavailable when the turn went on without memories', async () => {
    await memoryWith({ memories: [], late: true, tokens: 0 }).contextFor({ tenant: 'dev', userId: 'ada' }, semantic, 'q');
    await memoryWith({ memories: [], late: false, tokens: 0, unavailable: 'memory-service is not running' }).contextFor({ tenant: 'dev', userId: 'ada' }, semantic, 'q');
    assert.deepEqual(exporter.getFinishedSpans().map((s) => s.attributes['keelson.memory.outcome']), ['late', 'unavailable']);
  });

  it('makes no span when the agent does not recall or the run has no user', async () => {
    await memoryWith({ memories: [], late: false, tokens: 0 }).contextFor({ tenant: 'dev' }, semantic, 'q');
    assert.equal(exporter.getFinishedSpans().length, 0);
  });
});
