import { setTimeout as sleep } from 'node:timers/promises';
import type { FinishReason, Usage } from '@keelson/contracts';
import type { ModelChunk, ModelProvider, ModelRequest } from '../../model/provider';
import { AnthropicProviderError, codeForErrorType, codeForStatus, redact } from './anthropic-error';
import { toMessagesBody } from './anthropic-request';
import { parseRetryAfter, retryDelayMs } from '../shared/retry-delay';
import { readSse } from './sse-reader';

/** However long the API asks us to wait, a retry comes within a minute. */
const MAX_RETRY_DELAY_MS = 60_000;

export const ANTHROPIC_VERSION = '2023-06-01';

export interface AnthropicProviderOptions {
  /** The registry name agents refer to; default 'anthropic'. */
  name?: string;
  /** Default https://api.anthropic.com. */
  baseUrl?: string;
  /** Read on every call (so a rotated secret is picked up); never logged, never in an error. */
  apiKey: () => Promise<string> | string;
  /** Longest wait for the response headers, per attempt; default 60 000 ms. */
  timeoutMs?: number;
  /** Longest silence inside the stream (the API pings); default 60 000 ms. */
  idleTimeoutMs?: number;
  /** Retries of a failure before any output; default 2. */
  maxRetries?: number;
  /** Full-jitter base: retry n waits up to retryBaseMs * 2^n, unless the server sent retry-after; default 500. */
  retryBaseMs?: number;
  /** `max_tokens` when the request sets no maxOutputTokens (the API requires one); default 4096. */
  defaultMaxTokens?: number;
  /** Told of each retry before its wait, e.g. to log it (the error carries no key). */
  onRetry?: (info: { attempt: number; delayMs: number; error: AnthropicProviderError }) => void;
}

/** What a stream has told us so far: usage, stop reason, and the tool call each content block carries. */
interface StreamState {
  inputTokens: number;
  cachedInputTokens: number;
  outputTokens: number;
  stopReason?: string;
  toolBlocks: Map<number, { id: string; name: string }>;
}

/**
 * The Anthropic Messages API (`POST /v1/messages`, `stream: true`) as a ModelProvider. Retries 429, 529,
 * 5xx, timeouts and network failures only while nothing has been yielded; a stream that ends without
 * `message_stop` throws 'stream_cut'; the abort signal closes the upstream connection and ends the stream
 * with finish 'cancelled'. Stop reason `tool_use` maps to finish 'tool_calls', `max_tokens` to 'length'.
 */
export class AnthropicProvider implements ModelProvider {
  readonly name: string;

  constructor(private readonly options: AnthropicProviderOptions) {
    this.name = options.name ?? 'anthropic';
  }

  async *stream(req: ModelRequest, signal?: AbortSignal): AsyncIterable<ModelChunk> {
    const body = JSON.stringify(toMessagesBody(req, this.options.defaultMaxTokens ?? 4096));
    const maxRetries = this.options.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) return yield { type: 'finish', reason: 'cancelled' };
      const apiKey = await this.options.apiKey();
      let yielded = false;
      try {
        for await (const chunk of this.attempt(body, apiKey, signal)) {
          yielded = true;
          yield chunk;
        }
        return;
      } catch (err) {
        const error = err instanceof AnthropicProviderError ? err : unexpected(err, apiKey);
        if (yielded || !error.retryable || attempt >= maxRetries) throw error;
        const delayMs = retryDelayMs(attempt, this.options.retryBaseMs ?? 500, MAX_RETRY_DELAY_MS, error.details.retryAfterMs);
        this.options.onRetry?.({ attempt: attempt + 1, delayMs, error });
        if (!(await pause(delayMs, signal))) return yield { type: 'finish', reason: 'cancelled' };
      }
    }
  }

  /** One HTTP request and its stream. Throws AnthropicProviderError; ends 'cancelled' when `signal` aborts. */
  private async *attempt(body: string, apiKey: string, signal?: AbortSignal): AsyncGenerator<ModelChunk> {
    const controller = new AbortController();
    let timedOut: 'headers' | 'idle' | undefined;
    const onAbort = () => controller.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timer = setTimeout(() => ((timedOut = 'headers'), controller.abort()), this.options.timeoutMs ?? 60_000);
    const idleMs = this.options.idleTimeoutMs ?? 60_000;
    const state: StreamState = { inputTokens: 0, cachedInputTokens: 0, outputTokens: 0, toolBlocks: new Map() };
    let response: Response | undefined;
    try {
      response = await fetch(`${(this.options.baseUrl ?? 'https://api.anthropic.com').replace(/\/+$/, '')}/v1/messages`, {
        method: 'POST',
        headers: { 'x-api-key': apiKey, 'anthropic-version': ANTHROPIC_VERSION, 'content-type': 'application/json' },
        body,
        signal: controller.signal,
      });
      if (!response.ok) throw await httpError(response, apiKey);
      if (!response.body) throw new AnthropicProviderError('stream_cut', 'anthropic: the response has no body');
      const armIdle = () => {
        clearTimeout(timer);
        timer = setTimeout(() => ((timedOut = 'idle'), controller.abort()), idleMs);
      };
      armIdle();
      for await (const sse of readSse(response.body, armIdle)) {
        const chunks = handleEvent(sse.event, parseData(sse.data), state, apiKey);
        if (chunks === 'stop') {
          yield { type: 'usage', usage: usageOf(state) };
          yield { type: 'finish', reason: finishReason(state.stopReason) };
          return;
        }
        yield* chunks;
      }
      throw new AnthropicProviderError('stream_cut', 'anthropic: the stream ended without message_stop', { status: response.status });
    } catch (err) {
      if (signal?.aborted) {
        if (state.inputTokens || state.outputTokens) yield { type: 'usage', usage: usageOf(state) };
        return yield { type: 'finish', reason: 'cancelled' };
      }
      if (err instanceof AnthropicProviderError) throw err;
      if (timedOut) {
        const what = timedOut === 'idle' ? `no stream data for ${idleMs} ms` : 'no response headers in time';
        throw new AnthropicProviderError('timeout', `anthropic: timed out, ${what}`, { cause: err });
      }
      // A failure before the response is a network error; after it, the connection was cut mid-stream.
      const reason = redact(err instanceof Error ? `${err.message}${causeText(err)}` : String(err), apiKey);
      if (!response) throw new AnthropicProviderError('upstream_error', `anthropic: request failed: ${reason}`);
      throw new AnthropicProviderError('stream_cut', `anthropic: the stream was cut: ${reason}`, { status: response.status });
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      controller.abort(); // a no-op after a complete response; otherwise it closes the upstream connection
    }
  }
}

/** The fields of the stream events this provider reads; everything arrives untrusted, so all optional. */
interface EventData {
  message?: { usage?: Record<string, unknown> };
  index?: number;
  content_block?: { type?: string; id?: string; name?: string };
  delta?: { type?: string; text?: string; partial_json?: string; stop_reason?: string | null };
  usage?: { output_tokens?: number };
  error?: { type?: string; message?: string };
}

/** The chunks one SSE event yields, or 'stop' at message_stop. Throws for an `error` event. */
function handleEvent(event: string, data: EventData, state: StreamState, apiKey: string): ModelChunk[] | 'stop' {
  switch (event) {
    case 'message_start': {
      const usage = data.message?.usage ?? {};
      state.inputTokens = num(usage['input_tokens']) + num(usage['cache_read_input_tokens']) + num(usage['cache_creation_input_tokens']);
      state.cachedInputTokens = num(usage['cache_read_input_tokens']);
      state.outputTokens = num(usage['output_tokens']);
      return [];
    }
    case 'content_block_start': {
      const block = data.content_block;
      if (block?.type === 'tool_use') state.toolBlocks.set(data.index ?? -1, { id: String(block.id), name: String(block.name) });
      return [];
    }
    case 'content_block_delta': {
      const delta = data.delta;
      if (delta?.type === 'text_delta' && delta.text) return [{ type: 'text', text: String(delta.text) }];
      const tool = state.toolBlocks.get(data.index ?? -1);
      if (delta?.type === 'input_json_delta' && tool) return [{ type: 'tool_call', ...tool, argumentsDelta: String(delta.partial_json ?? '') }];
      return []; // thinking and signature deltas are not part of ModelChunk
    }
    case 'message_delta':
      if (data.delta?.stop_reason) state.stopReason = String(data.delta.stop_reason);
      if (data.usage?.output_tokens !== undefined) state.outputTokens = num(data.usage.output_tokens);
      return [];
    case 'message_stop':
      return 'stop';
    case 'error': {
      const type = data.error?.type;
      const message = redact(String(data.error?.message ?? 'unknown error'), apiKey);
      throw new AnthropicProviderError(codeForErrorType(type), `anthropic: ${type ?? 'error'} in stream: ${message}`, { upstreamType: type });
    }
    default:
      return []; // ping, content_block_stop, and event types added later
  }
}

async function httpError(response: Response, apiKey: string): Promise<AnthropicProviderError> {
  const text = await response.text().catch(() => '');
  let type: string | undefined;
  let message = text.slice(0, 500) || response.statusText;
  try {
    const parsed = JSON.parse(text) as { error?: { type?: string; message?: string } };
    type = parsed.error?.type;
    message = parsed.error?.message ?? message;
  } catch {
    // not JSON (a proxy's page): keep the start of the text
  }
  const code = codeForStatus(response.status);
  return new AnthropicProviderError(code, `anthropic: HTTP ${response.status} ${type ?? code}: ${redact(message, apiKey)}`, {
    status: response.status,
    upstreamType: type,
    retryAfterMs: parseRetryAfter(response.headers),
  });
}

function unexpected(err: unknown, apiKey: string): AnthropicProviderError {
  return new AnthropicProviderError('upstream_error', `anthropic: ${redact(err instanceof Error ? err.message : String(err), apiKey)}`);
}

function parseData(data: string): EventData {
  try {
    const parsed: unknown = JSON.parse(data);
    if (parsed !== null && typeof parsed === 'object') return parsed as EventData;
  } catch {
    // reported below
  }
  throw new AnthropicProviderError('upstream_error', `anthropic: an event's data is not a JSON object: ${data.slice(0, 200)}`);
}

/** Usage; `cachedInputTokens` (the cache reads, counted in inputTokens too) only when there were any. */
function usageOf(state: StreamState): Usage {
  const usage: Usage = { inputTokens: state.inputTokens, outputTokens: state.outputTokens, totalTokens: state.inputTokens + state.outputTokens };
  if (state.cachedInputTokens > 0) usage.cachedInputTokens = state.cachedInputTokens;
  return usage;
}

function finishReason(stopReason: string | undefined): FinishReason {
  if (stopReason === 'tool_use') return 'tool_calls';
  return stopReason === 'max_tokens' ? 'length' : 'stop';
}

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);

const causeText = (err: Error): string => (err.cause instanceof Error ? ` (${err.cause.message})` : '');

/** Waits `ms`; false when `signal` aborted first. */
async function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  try {
    await sleep(ms, undefined, { signal });
    return true;
  } catch {
    return false;
  }
}
