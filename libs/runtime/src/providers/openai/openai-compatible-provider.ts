import { setTimeout as sleep } from 'node:timers/promises';
import type { FinishReason } from '@keelson/contracts';
import type { ModelChunk, ModelProvider, ModelRequest } from '../../model/provider';
import { requestBody, toFinishReason, toUsage, type UsageWithCache, type WireChunk } from './chat-completions-wire';
import { ProviderError, codeForStatus, redact, upstreamMessage } from './provider-error';
import { parseRetryAfter, retryDelayMs } from '../shared/retry-delay';
import { sseData } from './sse-events';

export interface OpenAICompatibleOptions {
  /** The registry name agents refer to as `model.provider`; default 'openai'. */
  name?: string;
  /** The API root, e.g. `https://api.openai.com/v1` or `http://127.0.0.1:11434/v1`. */
  baseUrl: string;
  /** Read per attempt (so a rotated key is picked up); never logged, scrubbed from error messages. */
  apiKey?: () => Promise<string> | string;
  /** Used when a request names no model. */
  defaultModel?: string;
  /** Connect until the response headers; default 30 s. */
  timeoutMs?: number;
  /** Longest silence between two reads of the body, the first included; default 60 s. */
  idleTimeoutMs?: number;
  /** Further attempts on 429, 5xx, timeouts and network errors, only while nothing was streamed; default 2. */
  maxRetries?: number;
  /** Full-jitter base: retry n waits random [0, base * 2^n]; default 500 ms. */
  retryBaseMs?: number;
  /** Cap on any wait, `Retry-After` included; default 30 s. */
  maxRetryDelayMs?: number;
  /** Told before each retry's wait, for logs and metrics. */
  onRetry?: (info: { attempt: number; delayMs: number; error: ProviderError }) => void;
}

const cancelled: ModelChunk = { type: 'finish', reason: 'cancelled' };

/**
 * A model provider for any server speaking OpenAI's Chat Completions API with streaming (OpenAI, Azure
 * OpenAI, vLLM, Ollama, llama.cpp, LM Studio, LiteLLM...). Streams text and tool-call deltas, then usage
 * and finish. Fails with ProviderError; a stream cut before `[DONE]` is 'stream_cut', never a completion.
 */
export class OpenAICompatibleProvider implements ModelProvider {
  readonly name: string;
  private readonly url: string;

  constructor(private readonly options: OpenAICompatibleOptions) {
    this.name = options.name ?? 'openai';
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/chat/completions`;
  }

  async *stream(req: ModelRequest, signal?: AbortSignal): AsyncIterable<ModelChunk> {
    const model = req.model || this.options.defaultModel;
    if (!model) throw new ProviderError('bad_request', `${this.name}: the request names no model and there is no defaultModel`);
    const body = JSON.stringify(requestBody(req, model));
    const maxRetries = this.options.maxRetries ?? 2;
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) return yield cancelled;
      let yielded = false;
      try {
        for await (const chunk of this.attempt(body, signal)) {
          yielded = true;
          yield chunk;
        }
        return;
      } catch (err) {
        if (signal?.aborted) return yield cancelled;
        const error = err instanceof ProviderError ? err : new ProviderError('network_error', `${this.name}: ${String(err)}`);
        if (yielded || !error.retryable || attempt >= maxRetries) throw error;
        const delayMs = retryDelayMs(attempt, this.options.retryBaseMs ?? 500, this.options.maxRetryDelayMs ?? 30_000, error.retryAfterMs);
        this.options.onRetry?.({ attempt: attempt + 1, delayMs, error });
        await sleep(delayMs, undefined, { signal }).catch(() => undefined);
      }
    }
  }

  /** One HTTP request and its stream; closes the connection however it ends. */
  private async *attempt(body: string, signal: AbortSignal | undefined): AsyncGenerator<ModelChunk> {
    const key = await this.apiKey();
    const connection = new AbortController();
    const onAbort = () => connection.abort(signal?.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    let timedOut: string | undefined;
    const arm = (ms: number, what: string) =>
      setTimeout(() => {
        timedOut = what;
        connection.abort(new Error(what));
      }, ms);
    const fail = (code: ConstructorParameters<typeof ProviderError>[0], text: string, extra: ConstructorParameters<typeof ProviderError>[2] = {}) =>
      new ProviderError(code, redact(`${this.name}: ${text}`, key), extra);

    const timeoutMs = this.options.timeoutMs ?? 30_000;
    let timer = arm(timeoutMs, `no response within ${timeoutMs} ms`);
    try {
      let res: Response;
      try {
        const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'text/event-stream' };
        if (key) headers.authorization = `Bearer ${key}`;
        res = await fetch(this.url, { method: 'POST', headers, body, signal: connection.signal });
        if (!res.ok) {
          const message = upstreamMessage(await res.text());
          throw fail(codeForStatus(res.status), `HTTP ${res.status}: ${message}`, { status: res.status, retryAfterMs: parseRetryAfter(res.headers) });
        }
      } catch (err) {
        if (err instanceof ProviderError || signal?.aborted) throw err;
        if (timedOut) throw fail('timeout', timedOut);
        throw fail('network_error', `request failed: ${describe(err)}`, { cause: err });
      } finally {
        clearTimeout(timer);
      }
      if (!res.body || !/text\/event-stream/i.test(res.headers.get('content-type') ?? '')) {
        await res.body?.cancel().catch(() => undefined);
        throw fail('bad_response', `expected an event stream, got ${res.headers.get('content-type') ?? 'no content type'}`, { status: res.status });
      }
      const reader = res.body.getReader();
      const idleMs = this.options.idleTimeoutMs ?? 60_000;
      const read = async () => {
        timer = arm(idleMs, `no data for ${idleMs} ms`);
        try {
          const next = await reader.read();
          return next.done ? undefined : next.value;
        } finally {
          clearTimeout(timer);
        }
      };
      const events = sseData(read);
      const calls = new Map<number, { id: string; name: string }>();
      let usage: UsageWithCache | undefined;
      let finish: FinishReason | undefined;
      for (;;) {
        let next: IteratorResult<string>;
        try {
          next = await events.next();
        } catch (err) {
          if (signal?.aborted) throw err;
          if (timedOut) throw fail('timeout', timedOut);
          throw fail('stream_cut', `the connection broke mid-stream: ${describe(err)}`, { status: res.status });
        }
        if (next.done) throw fail('stream_cut', 'the stream ended without [DONE]', { status: res.status });
        if (next.value.trim() === '[DONE]') break;
        const chunk = parseChunk(next.value);
        if (!chunk) throw fail('bad_response', `unreadable stream event: ${next.value.slice(0, 200)}`);
        if (chunk.error) throw fail('upstream_error', `error event mid-stream: ${chunk.error.message ?? 'unknown'}`);
        if (chunk.usage) usage = toUsage(chunk.usage);
        const choice = chunk.choices?.find((c) => c.index === 0) ?? chunk.choices?.[0];
        if (!choice) continue;
        if (choice.delta?.content) yield { type: 'text', text: choice.delta.content };
        for (const delta of choice.delta?.tool_calls ?? []) {
          const call = calls.get(delta.index) ?? { id: `call_${delta.index}`, name: '' };
          if (delta.id) call.id = delta.id;
          if (delta.function?.name) call.name = delta.function.name;
          calls.set(delta.index, call);
          yield { type: 'tool_call', id: call.id, name: call.name, argumentsDelta: delta.function?.arguments ?? '' };
        }
        if (choice.finish_reason) finish = toFinishReason(choice.finish_reason);
      }
      if (!finish) throw fail('stream_cut', 'the stream ended without a finish_reason', { status: res.status });
      if (usage) yield { type: 'usage', usage };
      yield { type: 'finish', reason: finish };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      connection.abort(); // a no-op once the body was read to the end; otherwise it closes the connection
    }
  }

  private async apiKey(): Promise<string | undefined> {
    if (!this.options.apiKey) return undefined;
    try {
      return await this.options.apiKey();
    } catch (err) {
      throw new ProviderError('unauthorized', `${this.name}: could not read the API key: ${describe(err)}`);
    }
  }
}

function parseChunk(data: string): WireChunk | undefined {
  try {
    const value = JSON.parse(data) as unknown;
    return value && typeof value === 'object' ? (value as WireChunk) : undefined;
  } catch {
    return undefined;
  }
}

/** An error's message and its cause's (undici puts the useful part, e.g. ECONNREFUSED, in the cause). */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const cause = err.cause instanceof Error ? `: ${err.cause.message}` : '';
  return `${err.message}${cause}`;
}
