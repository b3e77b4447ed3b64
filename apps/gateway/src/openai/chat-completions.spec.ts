import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ErrorCodes, KeelsonError, type RunOutcome } from '@keelson/contracts';
import { ChunkBuilder, completionOf, parseChatCompletionRequest, toInvokeRpc } from './chat-completions';
import { modelNotFound, toOpenAIError } from './openai-errors';

const outcome: RunOutcome = {
  agentId: 'assistant',
  model: 'offline-echo',
  output: 'hello',
  finishReason: 'stop',
  usage: { inputTokens: 7, outputTokens: 2, totalTokens: 9 },
};
const meta = { id: 'chatcmpl-1', created: 1_700_000_000, model: 'assistant' };

describe('parseChatCompletionRequest', () => {
  it('maps an OpenAI request to an invoke call, passing system messages through and ignoring unknown fields', () => {
    const call = parseChatCompletionRequest({
      model: 'assistant',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'developer', content: 'no emojis' },
        { role: 'user', content: [{ type: 'text', text: 'hi ' }, { type: 'text', text: 'there' }] },
        { role: 'assistant', content: null },
      ],
      temperature: 0.3,
      seed: 1,
      logprobs: false,
      user: 'u1',
      max_tokens: 100,
      stream: true,
      stream_options: { include_usage: true },
    });
    assert.deepEqual(call, {
      agentId: 'assistant',
      messages: [
        { role: 'system', content: 'be brief' },
        { role: 'system', content: 'no emojis' },
        { role: 'user', content: 'hi there' },
        { role: 'assistant', content: '' },
      ],
      maxOutputTokens: 100,
      stream: true,
      includeUsage: true,
      userId: 'u1',
    });
    assert.deepEqual(toInvokeRpc('dev', call), {
      userId: 'u1',
      tenant: 'dev',
      agentId: 'assistant',
      messages: call.messages,
      maxOutputTokens: 100,
    });
  });

  it('keeps OpenAI\'s `user` as the user id when it is one, and hashes it stably when not', () => {
    const parse = (user: string) => parseChatCompletionRequest({ model: 'a', messages: [{ role: 'user', content: 'x' }], user }).userId;
    assert.equal(parse('user_42'), 'user_42');
    const hashed = parse('ada@example.com');
    assert.match(hashed ?? '', /^u_[0-9a-f]{32}$/);
    assert.equal(parse('ada@example.com'), hashed);
  });

  it('prefers max_completion_tokens and defaults to not streaming', () => {
    const call = parseChatCompletionRequest({
      model: 'a',
      messages: [{ role: 'user', content: 'x' }],
      max_tokens: 100,
      max_completion_tokens: 20,
      stream_options: null,
    });
    assert.equal(call.maxOutputTokens, 20);
    assert.equal(call.stream, false);
    assert.equal(call.includeUsage, false);
    assert.equal('maxOutputTokens' in parseChatCompletionRequest({ model: 'a', messages: [{ role: 'user', content: 'x' }] }), false);
  });

  it('refuses what it cannot honour with a 400 naming the field', () => {
    const cases: [unknown, string][] = [
      [{ messages: [{ role: 'user', content: 'x' }] }, 'model'],
      [{ model: 'a', messages: [] }, 'messages'],
      [{ model: 'a', messages: [{ role: 'tool', content: 'x', tool_call_id: '1' }] }, 'messages[0].role'],
      [{ model: 'a', messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] }] }, 'messages[0].content'],
      [{ model: 'a', messages: [{ role: 'user', content: 'x' }], n: 2 }, 'n'],
      [{ model: 'a', messages: [{ role: 'user', content: 'x' }], max_tokens: 0 }, 'max_tokens'],
    ];
    for (const [body, field] of cases) {
      assert.throws(
        () => parseChatCompletionRequest(body),
        (err: unknown) => err instanceof KeelsonError && err.status === 400 && (err.field ?? '').startsWith(field),
        JSON.stringify(body),
      );
    }
  });
});

describe('OpenAI response shapes', () => {
  it('maps an outcome to a chat.completion', () => {
    assert.deepEqual(completionOf(meta, { ...outcome, finishReason: 'length' }), {
      id: 'chatcmpl-1',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: 'assistant',
      choices: [{ index: 0, message: { role: 'assistant', content: 'hello', refusal: null }, finish_reason: 'length', logprobs: null }],
      usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 },
    });
    assert.equal(completionOf(meta, { ...outcome, finishReason: 'cancelled' }).choices[0]?.finish_reason, 'stop');
  });

  it('builds chunks in OpenAI order, with usage: null on each until the usage chunk', () => {
    const chunks = new ChunkBuilder(meta, true);
    const base = { id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1_700_000_000, model: 'assistant' };
    assert.deepEqual(chunks.role(), {
      ...base,
      choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }],
      usage: null,
    });
    assert.deepEqual(chunks.content('he').choices[0]?.delta, { content: 'he' });
    assert.deepEqual(chunks.finish('stop').choices[0], { index: 0, delta: {}, finish_reason: 'stop', logprobs: null });
    assert.deepEqual(chunks.usage(outcome.usage), { ...base, choices: [], usage: { prompt_tokens: 7, completion_tokens: 2, total_tokens: 9 } });
    assert.equal('usage' in new ChunkBuilder(meta, false).content('x'), false);
  });
});

describe('toOpenAIError', () => {
  it('maps Keelson errors to OpenAI statuses, types, params and codes', () => {
    assert.deepEqual(toOpenAIError(new KeelsonError(401, ErrorCodes.unauthorized, 'unknown API key', 'Authorization')), {
      status: 401,
      body: { error: { message: 'unknown API key', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
    });
    assert.deepEqual(toOpenAIError(new KeelsonError(400, ErrorCodes.validationFailed, 'messages: too small', 'messages')).body.error, {
      message: 'messages: too small',
      type: 'invalid_request_error',
      param: 'messages',
      code: 'validation_failed',
    });
    const unavailable = toOpenAIError(new KeelsonError(503, ErrorCodes.unavailable, 'no agent runtime'));
    assert.equal(unavailable.status, 503);
    assert.equal(unavailable.body.error.type, 'server_error');
    assert.deepEqual(toOpenAIError(modelNotFound('ghost')), {
      status: 404,
      body: {
        error: {
          message: 'The model `ghost` does not exist or you do not have access to it.',
          type: 'invalid_request_error',
          param: 'model',
          code: 'model_not_found',
        },
      },
    });
    assert.equal(toOpenAIError(new Error('boom')).status, 500);
  });
});
