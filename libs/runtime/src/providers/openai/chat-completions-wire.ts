import type { ChatMessage, FinishReason, Usage } from '@keelson/contracts';
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

/** Usage with the prompt-cache figure (now part of contracts' Usage; the name stays for existing imports). */
export type UsageWithCache = Usage;

/** A message on the wire: tool calls as `tool_calls` of an assistant message, results as `role: 'tool'`. */
export type WireMessage =
  | { role: 'system' | 'user'; content: string }
  | { role: 'assistant'; content: string | null; tool_calls?: { id: string; type: 'function'; function: { name: string; arguments: string } }[] }
  | { role: 'tool'; tool_call_id: string; content: string };

export function toWireMessage(m: ChatMessage): WireMessage {
  if (m.role === 'tool') return { role: 'tool', tool_call_id: m.toolCallId, content: m.content };
  if (m.role === 'assistant' && 'toolCalls' in m && m.toolCalls.length > 0) {
    return {
      role: 'assistant',
      // The API takes null content next to tool calls; an empty string is refused by some servers.
      content: m.content === '' ? null : m.content,
      tool_calls: m.toolCalls.map((c) => ({ id: c.id, type: 'function', function: { name: c.name, arguments: c.arguments } })),
    };
  }
  return { role: m.role, content: m.content };
}

export function requestBody(req: ModelRequest, model: string): Record<string, unknown> {
  return {
    model,
    messages: req.messages.map(toWireMessage),
    ...(req.tools?.length
      ? { tools: req.tools.map((t) => ({ type: 'function', function: { name: t.name, description: t.description, parameters: t.parameters } })) }
      : {}),
    ...(req.maxOutputTokens !== undefined ? { max_tokens: req.maxOutputTokens } : {}),
    ...(req.temperature !== undefined ? { temperature: req.temperature } : {}),
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
 * OpenAI's finish reasons in contracts' terms: 'tool_calls' (and the legacy 'function_call') is
 * 'tool_calls', 'content_filter' is 'error' (contracts have no filter reason).
 */
export function toFinishReason(reason: string): FinishReason {
  if (reason === 'length') return 'length';
  if (reason === 'tool_calls' || reason === 'function_call') return 'tool_calls';
  if (reason === 'content_filter') return 'error';
  return 'stop';
}
