import type { FakeCompletion, FakeError } from './fake-openai-script';

/** JSON shapes of the OpenAI Chat Completions API (public API reference), as the fake writes them. */

export interface CompletionContext {
  id: string;
  model: string;
  created: number;
  includeUsage: boolean;
  promptTokens: number;
}

export function textPieces(text: string | string[] | undefined): string[] {
  if (text === undefined) return [];
  return Array.isArray(text) ? text : (text.match(/\S+\s*|\s+/g) ?? []);
}

function chunk(ctx: CompletionContext, delta: Record<string, unknown>, finishReason: string | null) {
  return {
    id: ctx.id,
    object: 'chat.completion.chunk',
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: 'fp_fake',
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finishReason }],
    ...(ctx.includeUsage ? { usage: null } : {}),
  };
}

function usage(reply: FakeCompletion, ctx: CompletionContext, completionTokens: number) {
  const u = reply.usage ?? { promptTokens: ctx.promptTokens, completionTokens };
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.promptTokens + u.completionTokens,
    prompt_tokens_details: { cached_tokens: u.cachedTokens ?? 0, audio_tokens: 0 },
    completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
  };
}

const finishReasonOf = (reply: FakeCompletion) => reply.finishReason ?? (reply.toolCalls?.length ? 'tool_calls' : 'stop');

/** The `data:` payloads of a streamed completion, `[DONE]` included. */
export function streamEvents(reply: FakeCompletion, ctx: CompletionContext): string[] {
  const events: object[] = [chunk(ctx, { role: 'assistant', content: '', refusal: null }, null)];
  const pieces = textPieces(reply.text);
  for (const piece of pieces) events.push(chunk(ctx, { content: piece }, null));
  (reply.toolCalls ?? []).forEach((call, index) => {
    const fragments = Array.isArray(call.arguments) ? call.arguments : [call.arguments];
    events.push(chunk(ctx, { tool_calls: [{ index, id: call.id, type: 'function', function: { name: call.name, arguments: '' } }] }, null));
    for (const fragment of fragments) events.push(chunk(ctx, { tool_calls: [{ index, function: { arguments: fragment } }] }, null));
  });
  events.push(chunk(ctx, {}, finishReasonOf(reply)));
  if (ctx.includeUsage) {
    const { choices: _choices, ...rest } = chunk(ctx, {}, null);
    events.push({ ...rest, choices: [], usage: usage(reply, ctx, pieces.length) });
  }
  return [...events.map((e) => JSON.stringify(e)), '[DONE]'];
}

/** The whole `chat.completion` object, for `stream: false`. */
export function completionObject(reply: FakeCompletion, ctx: CompletionContext) {
  const content = textPieces(reply.text).join('');
  const toolCalls = (reply.toolCalls ?? []).map((call) => ({
    id: call.id,
    type: 'function',
    function: { name: call.name, arguments: Array.isArray(call.arguments) ? call.arguments.join('') : call.arguments },
  }));
  return {
    id: ctx.id,
    object: 'chat.completion',
    created: ctx.created,
    model: ctx.model,
    system_fingerprint: 'fp_fake',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: content || null, refusal: null, ...(toolCalls.length ? { tool_calls: toolCalls } : {}) },
        logprobs: null,
        finish_reason: finishReasonOf(reply),
      },
    ],
    usage: usage(reply, ctx, textPieces(reply.text).length),
  };
}

const defaultErrors: Record<number, { type: string; code: string | null; message: string }> = {
  400: { type: 'invalid_request_error', code: null, message: 'Invalid request.' },
  401: { type: 'invalid_request_error', code: 'invalid_api_key', message: 'Incorrect API key provided.' },
  404: { type: 'invalid_request_error', code: 'model_not_found', message: 'The model does not exist or you do not have access to it.' },
  429: { type: 'requests', code: 'rate_limit_exceeded', message: 'Rate limit reached for requests. Please try again later.' },
  500: { type: 'server_error', code: null, message: 'The server had an error while processing your request. Sorry about that!' },
  503: { type: 'server_error', code: null, message: 'The engine is currently overloaded, please try again later.' },
};

export function errorBody(error: FakeError) {
  const base = defaultErrors[error.status] ?? { type: error.status >= 500 ? 'server_error' : 'invalid_request_error', code: null, message: `HTTP ${error.status}` };
  return {
    error: {
      message: error.message ?? base.message,
      type: error.type ?? base.type,
      param: null,
      code: error.code === undefined ? base.code : error.code,
    },
  };
}
