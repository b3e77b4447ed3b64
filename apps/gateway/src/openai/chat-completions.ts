import { createHash, randomUUID } from 'node:crypto';
import { USER_ID_PATTERN, parseOrThrow, type FinishReason, type InvokeRpcRequest, type RunOutcome, type Usage } from '@keelson/contracts';
import { z } from 'zod';

/**
 * OpenAI's chat-completions request, as far as Keelson honours it. Unknown fields are dropped, not refused:
 * OpenAI clients send many (temperature, seed, logprobs...), and the agent's own definition decides those.
 */
const TextPartSchema = z.object({ type: z.literal('text'), text: z.string() });
const ContentSchema = z.union([z.string().max(100_000), z.array(TextPartSchema).min(1).max(100)]);
const MessageSchema = z.object({
  role: z.enum(['system', 'developer', 'user', 'assistant']),
  content: ContentSchema.nullable().optional(),
});
const positive = z.number().int().positive().nullable().optional();

export const ChatCompletionRequestSchema = z.object({
  model: z.string().min(1),
  messages: z.array(MessageSchema).min(1).max(500),
  stream: z.boolean().nullable().optional(),
  stream_options: z.object({ include_usage: z.boolean().optional() }).nullable().optional(),
  max_tokens: positive,
  max_completion_tokens: positive,
  n: z.literal(1, 'only n = 1 is supported').nullable().optional(),
  user: z.string().max(256).optional(),
});
export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;

/** A plain conversation turn, as the invoke RPC takes it (no tool turns from outside). */
type ChatMessage = InvokeRpcRequest['messages'][number];

export interface ChatCompletionCall {
  agentId: string;
  messages: ChatMessage[];
  maxOutputTokens?: number;
  stream: boolean;
  includeUsage: boolean;
  /** OpenAI's `user`, as a Keelson user id (hashed when it is not one already): memories are per user. */
  userId?: string;
}

export function parseChatCompletionRequest(body: unknown): ChatCompletionCall {
  const request = parseOrThrow(ChatCompletionRequestSchema, body);
  const messages = request.messages.map(
    (message): ChatMessage => ({
      // `developer` is the newer name of `system`; both reach the agent as context.
      role: message.role === 'developer' ? 'system' : message.role,
      content: typeof message.content === 'string' ? message.content : (message.content ?? []).map((part) => part.text).join(''),
    }),
  );
  const maxOutputTokens = request.max_completion_tokens ?? request.max_tokens ?? undefined;
  return {
    agentId: request.model,
    messages,
    ...(maxOutputTokens !== undefined ? { maxOutputTokens } : {}),
    stream: request.stream === true,
    includeUsage: request.stream_options?.include_usage === true,
    ...(request.user ? { userId: asUserId(request.user) } : {}),
  };
}

/** OpenAI's free-form `user` as a user id: kept when it already is one, else a stable hash of it. */
function asUserId(user: string): string {
  return USER_ID_PATTERN.test(user) ? user : `u_${createHash('sha256').update(user).digest('hex').slice(0, 32)}`;
}

export function toInvokeRpc(tenant: string, call: ChatCompletionCall): Omit<InvokeRpcRequest, 'runId'> {
  return {
    ...(call.userId ? { userId: call.userId } : {}),
    tenant,
    agentId: call.agentId,
    messages: call.messages,
    ...(call.maxOutputTokens !== undefined ? { maxOutputTokens: call.maxOutputTokens } : {}),
  };
}

export type OpenAIFinishReason = 'stop' | 'length';

export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: { index: 0; message: { role: 'assistant'; content: string; refusal: null }; finish_reason: OpenAIFinishReason; logprobs: null }[];
  usage: OpenAIUsage;
}

export interface ChatCompletionChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: { index: 0; delta: { role?: 'assistant'; content?: string }; finish_reason: OpenAIFinishReason | null; logprobs: null }[];
  usage?: OpenAIUsage | null;
}

export const newCompletionId = (): string => `chatcmpl-${randomUUID().replace(/-/g, '')}`;

/** A cancelled run still answered with what it had; OpenAI has no such reason, so it reads as a stop. */
export const finishReasonOf = (reason: FinishReason): OpenAIFinishReason => (reason === 'length' ? 'length' : 'stop');

export const usageOf = (usage: Usage): OpenAIUsage => ({
  prompt_tokens: usage.inputTokens,
  completion_tokens: usage.outputTokens,
  total_tokens: usage.totalTokens,
});

/** The response identity every chunk of one completion shares; `model` is the agent id the caller asked for. */
export interface CompletionMeta {
  id: string;
  created: number;
  model: string;
}

export const completionMeta = (model: string, now = Date.now()): CompletionMeta => ({
  id: newCompletionId(),
  created: Math.floor(now / 1000),
  model,
});

export function completionOf(meta: CompletionMeta, outcome: RunOutcome): ChatCompletion {
  return {
    ...meta,
    object: 'chat.completion',
    choices: [
      {
        index: 0,
        message: { role: 'assistant', content: outcome.output, refusal: null },
        finish_reason: finishReasonOf(outcome.finishReason),
        logprobs: null,
      },
    ],
    usage: usageOf(outcome.usage),
  };
}

/**
 * Builds the chunks of one streamed completion in OpenAI's order: the role, content deltas, the chunk
 * with finish_reason, then (with include_usage) a chunk with no choices and the usage. With include_usage
 * every other chunk carries `usage: null`, as OpenAI's do.
 */
export class ChunkBuilder {
  constructor(
    private readonly meta: CompletionMeta,
    private readonly includeUsage: boolean,
  ) {}

  role(): ChatCompletionChunk {
    return this.chunk({ role: 'assistant', content: '' }, null);
  }

  content(text: string): ChatCompletionChunk {
    return this.chunk({ content: text }, null);
  }

  finish(reason: FinishReason): ChatCompletionChunk {
    return this.chunk({}, finishReasonOf(reason));
  }

  usage(usage: Usage): ChatCompletionChunk {
    return { ...this.meta, object: 'chat.completion.chunk', choices: [], usage: usageOf(usage) };
  }

  private chunk(delta: ChatCompletionChunk['choices'][0]['delta'], finish: OpenAIFinishReason | null): ChatCompletionChunk {
    const chunk: ChatCompletionChunk = {
      ...this.meta,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, finish_reason: finish, logprobs: null }],
    };
    if (this.includeUsage) chunk.usage = null;
    return chunk;
  }
}
