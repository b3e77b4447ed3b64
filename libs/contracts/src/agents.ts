import { z } from 'zod';

export const ChatMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant']),
  content: z.string().max(100_000),
});
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

export const UsageSchema = z.object({
  inputTokens: z.number().int().nonnegative(),
  outputTokens: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
});
export type Usage = z.infer<typeof UsageSchema>;

export const FinishReasonSchema = z.enum(['stop', 'length', 'error', 'cancelled']);
export type FinishReason = z.infer<typeof FinishReasonSchema>;

/** What a finished agent run reports, whichever execution model ran it. */
export const RunOutcomeSchema = z.object({
  agentId: z.string(),
  model: z.string(),
  output: z.string(),
  finishReason: FinishReasonSchema,
  usage: UsageSchema,
});
export type RunOutcome = z.infer<typeof RunOutcomeSchema>;
