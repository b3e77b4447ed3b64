import { z } from 'zod';

/**
 * A plain conversation turn: what a client may send (the invoke body) and what a session's history keeps.
 * Tool turns are not part of it, so a client cannot put fabricated tool calls or results before a model;
 * unknown keys such as `toolCalls` are stripped.
 */
export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(100_000),
});

/** One tool call the model made: `arguments` is the JSON text the model produced, unparsed and unvalidated. */
export const ToolCallSchema = z.object({
  id: z.string().min(1).max(200),
  name: z.string().min(1).max(64),
  arguments: z.string().max(100_000),
});
export type ToolCall = z.infer<typeof ToolCallSchema>;

/** An assistant turn that asked for tools; `content` is the text it produced alongside (often ''). */
export const AssistantToolCallMessageSchema = z.object({
  role: z.literal('assistant'),
  content: z.string().max(100_000),
  toolCalls: z.array(ToolCallSchema).min(1),
});

/** The result of one tool call, answering `toolCallId`; `isError` marks a failed call (its content says why). */
export const ToolMessageSchema = z.object({
  role: z.literal('tool'),
  toolCallId: z.string().min(1).max(200),
  name: z.string().min(1).max(64),
  content: z.string().max(100_000),
  isError: z.boolean().optional(),
});
export type ToolMessage = z.infer<typeof ToolMessageSchema>;

/**
 * Every turn an agent run passes to its model: plain turns, assistant turns carrying tool calls, and tool
 * results. Internal to runs (the agent loop builds the tool turns); HTTP bodies take ChatMessageSchema.
 */
export const RunMessageSchema = z.union([AssistantToolCallMessageSchema, ToolMessageSchema, ChatMessageSchema]);
/** A plain turn, an assistant turn with `toolCalls`, or a `tool` result; every existing ChatMessage still is one. */
export type ChatMessage =
  | z.infer<typeof ChatMessageSchema>
  | (z.infer<typeof AssistantToolCallMessageSchema>)
  | ToolMessage;

export const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  /** Of inputTokens, those served from the provider's prompt cache, when the provider reports it. */
  cachedInputTokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof UsageSchema>;

/** 'tool_calls': a model step ended asking for tools (a run's outcome ends on the final answer instead). */
export const FinishReasonSchema = z.enum(['stop', 'length', 'error', 'cancelled', 'tool_calls']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

/** What a finished agent run reports, whichever execution model ran it. */
export const RunOutcomeSchema = z.object({
  agentId: z.string(),
  model: z.string(),
  output: z.string(),
  finishReason: FinishReasonSchema,
  usage: UsageSchema,
  /**
   * A session message sent with the `steer` policy and taken into a running run: that run's id. `output` is
   * that run's reply (and its usage is counted there, so this one's is zero).
   */
  steeredInto: z.string().optional(),
});
export type RunOutcome = z.infer<typeof RunOutcomeSchema>;
