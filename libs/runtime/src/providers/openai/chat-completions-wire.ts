import type { FinishReason, Usage } from '@keelson/contracts';
import type { ModelRequest } from '../../model/provider';

/** The request and stream-chunk shapes of OpenAI's Chat Completions API, as far as this provider uses them. */

export interface WireToolCallDelta {
  index: number;
  id?: string;
  type?: string;
  function?: { name?: string; arguments?: string };
}

export interface WireChunk {
  choices?: { index: number; delta?: { content?: string | null; tool_calls?: WireToolCallDelta[] }; finish_reason?: string | null }[];
  usage?: {
    prompt_tokens?: number;
    completion_tokens?: number;
    total_tokens?: number;
    prompt_tokens_details?: { cached_tokens?: number } | null;
  } | null;
  /** Some compatible servers (vLLM, LiteLLM) report a failure mid-stream as an event of the error shape. */
  error?: { message?: string };
}

/** Usage with the prompt-cache figure; contracts' Usage has no field for it yet, so it travels as an extra. */
export interface UsageWithCache extends Usage {
  cachedInputTokens?: number;
}

export function requestBody(req: ModelRequest, model: string): Record<string, unknown> {
  return {
    model,
    messages: req.messages.map((m) => ({ role: m.role, content: m.content })),
    ...(req.tools?.length
      ? { tools: req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })) }
      : {}),
    ...(req.maxOutputTokens !== undefined ? { max_tokens: req.maxOutputTokens } : {}),
    stream: true,
    stream_options: { include_usage: true },
  };
}

export function toUsage(usage: NonNullable<WireChunk['usage']>): UsageWithCache {
  const inputTokens = usage.prompt_tokens ?? 0;
  const outputTokens = usage.completion_tokens ?? 0;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    inputTokens,
    outputTokens,
    totalTokens: usage.total_tokens ?? inputTokens + outputTokens,
    ...(cached !== undefined ? { cachedInputTokens: cached } : {}),
  };
}

/**
 * OpenAI's finish reasons in contracts' terms. Contracts' FinishReason has no 'tool_calls' (nor a filter
 * reason): a turn that ends in tool calls is a normal 'stop' whose chunks carry the calls, and
 * 'content_filter' is 'error'.
 */
export function toFinishReason(reason: string): FinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'content_filter') return 'error';
  return 'stop';
}
