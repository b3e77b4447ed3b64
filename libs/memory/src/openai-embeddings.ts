import { MemoryErrorCodes } from '@keelson/contracts';
import type { Embedder } from './embedder';
import { memoryError } from './errors';

export interface OpenAIEmbeddingsOptions {
  /** `https://api.openai.com/v1` or any OpenAI-compatible server (vLLM, Ollama, LiteLLM...); `/embeddings` is appended. */
  baseUrl: string;
  model: string;
  dimension: number;
  /**
   * The API key, read when each request is made (so a rotated secret file is picked up). It is only ever
   * put into the Authorization header: never logged, never in an error message.
   */
  apiKey?: () => Promise<string>;
  /** Texts per request; default 96. */
  batchSize?: number;
  /** Retries after the first attempt on 429, 5xx and network errors; default 4. */
  maxRetries?: number;
  /** Per request; default 30 000 ms. */
  timeoutMs?: number;
  /** First retry delay; doubles each time, with full jitter, capped at 20 s; a Retry-After header wins. */
  baseDelayMs?: number;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

interface EmbeddingsResponse {
  data?: { index?: number; embedding?: unknown }[];
}

/**
 * The OpenAI `/v1/embeddings` wire format over fetch: `{model, input: [...]}` in, `{data: [{index,
 * embedding}], usage}` out. Texts go in batches; 429 and 5xx are retried with exponential backoff and full
 * jitter, honouring Retry-After; other 4xx fail at once. A reply whose vectors are not `dimension` long is
 * refused (the collection's dimension is fixed).
 */
export class OpenAIEmbeddings implements Embedder {
  readonly model: string;
  readonly dimension: number;
  private readonly url: string;
  private readonly fetchImpl: typeof fetch;
  private readonly sleep: (ms: number) => Promise<void>;

  constructor(private readonly options: OpenAIEmbeddingsOptions) {
    this.model = options.model;
    this.dimension = options.dimension;
    this.url = `${options.baseUrl.replace(/\/+$/, '')}/embeddings`;
    this.fetchImpl = options.fetch ?? fetch;
    this.sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
  }

  async embed(texts: string[], signal?: AbortSignal): Promise<number[][]> {
    const size = this.options.batchSize ?? 96;
    const out: number[][] = [];
    for (let i = 0; i < texts.length; i += size) out.push(...(await this.embedBatch(texts.slice(i, i + size), signal)));
    return out;
  }

  private async embedBatch(input: string[], signal?: AbortSignal): Promise<number[][]> {
    const maxRetries = this.options.maxRetries ?? 4;
    for (let attempt = 0; ; attempt++) {
      const outcome = await this.attempt(input, signal);
      if (outcome.ok) return outcome.vectors;
      if (!outcome.retryable || attempt >= maxRetries || signal?.aborted) {
        throw memoryError(503, MemoryErrorCodes.embeddingsUnavailable, `embeddings request failed: ${outcome.reason}`);
      }
      await this.sleep(this.delayMs(attempt, outcome.retryAfterMs));
    }
  }

  /** Full jitter on an exponential ceiling; Retry-After (seconds or a date) wins when the server sends one. */
  delayMs(attempt: number, retryAfterMs?: number): number {
    if (retryAfterMs !== undefined) return Math.min(retryAfterMs, 60_000);
    const ceiling = Math.min(20_000, (this.options.baseDelayMs ?? 500) * 2 ** attempt);
    return Math.round(ceiling * (this.options.random ?? Math.random)());
  }

  private async attempt(
    input: string[],
    signal?: AbortSignal,
  ): Promise<{ ok: true; vectors: number[][] } | { ok: false; retryable: boolean; reason: string; retryAfterMs?: number }> {
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.options.apiKey) headers['authorization'] = `Bearer ${await this.options.apiKey()}`;
    const timeout = AbortSignal.timeout(this.options.timeoutMs ?? 30_000);
    let res: Response;
    try {
      res = await this.fetchImpl(this.url, {
        method: 'POST',
        headers,
        body: JSON.stringify({ model: this.model, input }),
        signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
      });
    } catch (err) {
      const reason = timeout.aborted ? `no answer within ${this.options.timeoutMs ?? 30_000} ms` : `network error (${(err as Error).name})`;
      return { ok: false, retryable: true, reason };
    }
    if (!res.ok) {
      const reason = `HTTP ${res.status}${await errorMessageOf(res)}`;
      const retryable = res.status === 429 || res.status >= 500;
      const retryAfterMs = parseRetryAfter(res.headers.get('retry-after'));
      return { ok: false, retryable, reason, ...(retryAfterMs !== undefined ? { retryAfterMs } : {}) };
    }
    let body: EmbeddingsResponse;
    try {
      body = (await res.json()) as EmbeddingsResponse;
    } catch {
      return { ok: false, retryable: true, reason: 'the reply is not JSON' };
    }
    const vectors: number[][] = new Array(input.length);
    for (const [position, item] of (body.data ?? []).entries()) {
      const index = typeof item.index === 'number' ? item.index : position;
      const v = item.embedding;
      if (!Array.isArray(v) || !v.every((x) => typeof x === 'number' && Number.isFinite(x))) {
        return { ok: false, retryable: false, reason: `data[${position}].embedding is not an array of numbers` };
      }
      if (v.length !== this.dimension) {
        throw memoryError(
          502,
          MemoryErrorCodes.vectorDimensionMismatch,
          `model ${this.model} returned ${v.length} dimensions, configured ${this.dimension}`,
          'dimension',
        );
      }
      if (index < 0 || index >= input.length) return { ok: false, retryable: false, reason: `data[${position}].index ${index} is out of range` };
      vectors[index] = v as number[];
    }
    for (let i = 0; i < input.length; i++) {
      if (!vectors[i]) return { ok: false, retryable: false, reason: `no embedding for input ${i}` };
    }
    return { ok: true, vectors };
  }
}

/** The `error.message` of an OpenAI error body, cut short; the request (and so the key) is never echoed. */
async function errorMessageOf(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: unknown } };
    return typeof body.error?.message === 'string' ? `: ${body.error.message.slice(0, 200)}` : '';
  } catch {
    return '';
  }
}

/** Retry-After as milliseconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null) return undefined;
  if (/^\d+(\.\d+)?$/.test(value.trim())) return Math.round(Number(value) * 1_000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}
