import type { RedisStrings } from '../redis-strings';
import type { CostRequest } from '../request';
import { cacheKey, type CacheScope } from './cache-key';

/** What a cached answer holds: enough to replay the call's outcome without calling the model. */
export interface CachedResponse {
  output: string;
  finishReason: string;
  model: string;
  usage?: { inputTokens: number; outputTokens: number; totalTokens: number; cachedInputTokens?: number };
  /** Any tool call makes a response uncacheable; present here only so `isCacheable` can check it. */
  toolCalls?: readonly unknown[];
}

/**
 * Whether a request (and, once it ran, its response) may be cached. Only deterministic requests: temperature
 * 0, or unset on the offline model (OpenAI and Anthropic default to 1, which samples). Only complete plain
 * answers: no tool calls (their effect lives outside the text), no cut, cancelled or failed ones.
 */
export function isCacheable(request: Pick<CostRequest, 'provider' | 'temperature'>, response?: Pick<CachedResponse, 'finishReason' | 'toolCalls'>): boolean {
  const deterministic = request.temperature === 0 || (request.temperature === undefined && request.provider === 'offline');
  if (!deterministic) return false;
  if (!response) return true;
  return response.finishReason === 'stop' && !(response.toolCalls && response.toolCalls.length > 0);
}

/**
 * The exact response cache: answers of deterministic requests in Redis under `<prefix>:{tenant}:<sha256>`, with
 * a TTL. Per tenant by construction (the tenant is in the key and in the hash), never shared across tenants.
 */
export class ResponseCache {
  private readonly prefix: string;

  constructor(private readonly redis: RedisStrings, private readonly options: { ttlSeconds: number; keyPrefix?: string }) {
    this.prefix = options.keyPrefix ?? 'keelson:cache';
  }

  private key(scope: CacheScope, request: CostRequest): string {
    return `${this.prefix}:{${scope.tenant}}:${cacheKey(scope, request)}`;
  }

  /** The cached answer of an identical earlier request, or undefined (also for a request that is never cached). */
  async get(scope: CacheScope, request: CostRequest): Promise<CachedResponse | undefined> {
    if (!isCacheable(request)) return undefined;
    const raw = await this.redis.get(this.key(scope, request));
    return raw ? (JSON.parse(raw) as CachedResponse) : undefined;
  }

  /** Stores an answer if it may be cached; returns whether it was stored. */
  async put(scope: CacheScope, request: CostRequest, response: CachedResponse, ttlSeconds = this.options.ttlSeconds): Promise<boolean> {
    if (!isCacheable(request, response)) return false;
    const { toolCalls: _none, ...stored } = response;
    await this.redis.set(this.key(scope, request), JSON.stringify(stored), { expiration: { type: 'EX', value: ttlSeconds } });
    return true;
  }
}
