import { SpanKind, trace } from '@opentelemetry/api';
import type { TurnRecall } from './memory-client';

/**
 * The `memory.recall` span around a turn's recall: its outcome (ok, late, unavailable), how many memories
 * and tokens came back; never the query or the memories. The NATS request it makes is its child.
 */
const tracer = trace.getTracer('@keelson/memory');

export const MemoryAttributes = {
  outcome: 'keelson.memory.outcome',
  topK: 'keelson.memory.top_k',
  recalled: 'keelson.memory.recalled',
  tokens: 'keelson.memory.tokens',
} as const;

/** Runs a turn's recall (which never throws) inside its span. */
export function traceRecall(topK: number, recall: (topK: number) => Promise<TurnRecall>): Promise<TurnRecall> {
  return tracer.startActiveSpan('memory.recall', { kind: SpanKind.INTERNAL, attributes: { [MemoryAttributes.topK]: topK } }, async (span) => {
    try {
      const r = await recall(topK);
      span.setAttributes({
        [MemoryAttributes.outcome]: r.late ? 'late' : r.unavailable ? 'unavailable' : 'ok',
        [MemoryAttributes.recalled]: r.memories.length,
        [MemoryAttributes.tokens]: r.tokens,
      });
      return r;
    } finally {
      span.end();
    }
  });
}
