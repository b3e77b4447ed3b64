import { z } from 'zod';
import { RunOutcomeSchema } from './agents';
import { AGENT_ID_PATTERN } from './ids';

/** `POST /v1/sessions` */
export const CreateSessionRequestSchema = z
  .object({ agentId: z.string().regex(AGENT_ID_PATTERN, 'must be a lowercase agent id') })
  .strict();
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;

export const SessionCreatedSchema = z.object({ sessionId: z.string(), expiresAt: z.string() });
export type SessionCreated = z.infer<typeof SessionCreatedSchema>;

/** `GET /v1/sessions/{id}` */
export const SessionViewSchema = z.object({
  sessionId: z.string(),
  agentId: z.string(),
  createdAt: z.string(),
  expiresAt: z.string(),
  turns: z.number().int().nonnegative(),
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.string() })),
});
export type SessionView = z.infer<typeof SessionViewSchema>;

/** `POST /v1/sessions/{id}/messages`, and one frame sent over the session WebSocket. */
export const SendMessageRequestSchema = z.object({ content: z.string().min(1).max(100_000) }).strict();
export type SendMessageRequest = z.infer<typeof SendMessageRequestSchema>;

/** The reply of a non-streamed turn. */
export const TurnReplySchema = RunOutcomeSchema.extend({ sessionId: z.string(), turn: z.number().int().positive() });
export type TurnReply = z.infer<typeof TurnReplySchema>;

/** The data of a turn queued on `keelson.sessions.turns.{tenant}.{sessionId}`. */
export const SessionTurnSchema = z.object({
  sessionId: z.string(),
  turn: z.number().int().positive(),
  content: z.string().min(1),
});
export type SessionTurn = z.infer<typeof SessionTurnSchema>;
