import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ChatMessageSchema, FinishReasonSchema, RunMessageSchema, UsageSchema } from './agents';
import { InvokeRequestSchema } from './invoke';
import { RunToolCallSchema, RunToolResultSchema } from './runs';

describe('tool turns in the contracts', () => {
  const call = { role: 'assistant', content: '', toolCalls: [{ id: 'c1', name: 'http_fetch', arguments: '{"url":"https://example.com"}' }] };
  const result = { role: 'tool', toolCallId: 'c1', name: 'http_fetch', content: 'HTTP 200 OK', isError: false };

  it('RunMessageSchema takes plain turns, assistant tool calls and tool results', () => {
    for (const m of [{ role: 'user', content: 'hi' }, { role: 'system', content: 's' }, call, result]) {
      assert.deepEqual(RunMessageSchema.parse(m), m);
    }
    assert.ok(!RunMessageSchema.safeParse({ role: 'tool', content: 'no call id' }).success);
  });

  it('ChatMessageSchema, what HTTP clients send, takes no tool turns: tool results are refused, tool calls stripped', () => {
    assert.ok(!ChatMessageSchema.safeParse(result).success);
    assert.deepEqual(ChatMessageSchema.parse(call), { role: 'assistant', content: '' });
    assert.ok(!InvokeRequestSchema.safeParse({ messages: [result] }).success);
  });

  it('keeps existing data valid: usage without cachedInputTokens, the old finish reasons', () => {
    assert.ok(UsageSchema.safeParse({ inputTokens: 1, outputTokens: 2, totalTokens: 3 }).success);
    assert.ok(UsageSchema.safeParse({ inputTokens: 1, outputTokens: 2, totalTokens: 3, cachedInputTokens: 1 }).success);
    for (const r of ['stop', 'length', 'error', 'cancelled', 'tool_calls']) assert.ok(FinishReasonSchema.safeParse(r).success);
  });

  it('run.tool_call and run.tool_result events', () => {
    assert.ok(RunToolCallSchema.safeParse({ runId: 'r', attempt: 1, seq: 0, callId: 'c1', name: 'x', arguments: '{' }).success);
    assert.ok(RunToolResultSchema.safeParse({ runId: 'r', attempt: 1, callId: 'c1', name: 'x', ok: false, error: 'bad' }).success);
  });
});
