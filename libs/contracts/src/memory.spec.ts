import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import {
  CreateMemoryRequestSchema,
  MemoryConsumers,
  MemoryFilterSchema,
  MemoryRecallRpcRequestSchema,
  MemoryStreams,
  MemorySubjects,
  MemoryWriteMessageSchema,
  parseMemoryWriteSubject,
} from './memory';
import { Streams } from './streams';
import { parseOrThrow } from './validation';

describe('memory contracts', () => {
  it('accepts a memory with a scoped namespace and flat metadata, and names the field of a bad one', () => {
    assert.deepEqual(parseOrThrow(CreateMemoryRequestSchema, { namespace: 'user:u-42', text: ' hi ', metadata: { userId: 'u-42', n: 1, ok: true } }), {
      namespace: 'user:u-42',
      text: 'hi',
      metadata: { userId: 'u-42', n: 1, ok: true },
    });
    for (const [body, field] of [
      [{ namespace: 'users:u', text: 'x' }, 'namespace'],
      [{ namespace: 'user:', text: 'x' }, 'namespace'],
      [{ namespace: 'user:u', text: '   ' }, 'text'],
      [{ namespace: 'user:u', text: 'x'.repeat(8_001) }, 'text'],
      [{ namespace: 'user:u', text: 'x', metadata: { nested: { a: 1 } } }, 'metadata.nested'],
      [{ namespace: 'user:u', text: 'x', ttlSeconds: 0 }, 'ttlSeconds'],
      [{ namespace: 'user:u', text: 'x', extra: 1 }, 'extra'],
    ] as const) {
      assert.throws(() => parseOrThrow(CreateMemoryRequestSchema, body), (err: { field?: string }) => err.field === field, JSON.stringify(body));
    }
  });

  it('takes filters of metadata keys to scalars or {in: [...]} and nothing else', () => {
    assert.ok(MemoryFilterSchema.safeParse({ userId: 'a', n: { in: [1, 2] } }).success);
    assert.ok(!MemoryFilterSchema.safeParse({ n: { gt: 1 } }).success);
    assert.ok(!MemoryFilterSchema.safeParse({ 'a.b': 1 }).success);
    assert.ok(!MemoryFilterSchema.safeParse(['a']).success);
  });

  it('gives recall a latency and a token budget by default', () => {
    const r = MemoryRecallRpcRequestSchema.parse({ tenant: 'dev', userId: 'ada', query: 'tea' });
    assert.deepEqual([r.topK, r.tokenBudget, r.timeoutMs], [5, 500, 250]);
  });

  it('builds and parses the write subject, and declares a stream no other stream overlaps', () => {
    assert.equal(MemorySubjects.writes('acme'), 'keelson.memory.writes.acme');
    assert.deepEqual(parseMemoryWriteSubject('keelson.memory.writes.acme'), { tenant: 'acme' });
    assert.equal(parseMemoryWriteSubject('keelson.memory.writes'), undefined);
    assert.equal(MemoryStreams.writes.subjects[0], 'keelson.memory.writes.>');
    assert.equal(MemoryConsumers.writer.stream, MemoryStreams.writes.name);
    for (const s of Object.values(Streams) as { name: string; subjects: readonly string[] }[]) {
      // Once registered in Streams, the memory stream must be this very spec.
      if (s.name === MemoryStreams.writes.name) assert.deepEqual(s, MemoryStreams.writes);
      else assert.ok(s.subjects.every((subject) => !subject.startsWith('keelson.memory.')), `${s.name} overlaps`);
    }
    assert.ok(Object.values(MemorySubjects).filter((v) => typeof v === 'string' && v.startsWith('keelson.rpc.memory.')).length === 7);
  });

  it('reads a write as an upsert or a turn', () => {
    assert.equal(MemoryWriteMessageSchema.parse({ type: 'turn', userId: 'ada', userText: 'I like tea' }).type, 'turn');
    assert.ok(!MemoryWriteMessageSchema.safeParse({ type: 'upsert', items: [] }).success);
  });
});
