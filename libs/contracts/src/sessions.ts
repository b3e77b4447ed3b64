import { z } from 'zod';
import { RunOutcomeSchema } from './agents';
import { AGENT_ID_PATTERN, USER_ID_PATTERN } from './ids';

/** `POST /v1/sessions` */
export const CreateSessionRequestSchema = z
  .object({
    agentId: z.string().regex(AGENT_ID_PATTERN, 'must be a lowercase agent id'),
    /** The end user the session acts for: an agent with a memory policy remembers and recalls per user. */
    userId: z.string().regex(USER_ID_PATTERN, 'expected 1-128 characters of A-Z a-z 0-9 _ -').optional(),
  })
  .strict();
export type CreateSessionRequest = z.infer<typeof CreateSessionRequestSchema>;

export const SessionCreatedSchema = z.object({ sessionId: z.string(), expiresAt: z.string() });
export type SessionCreated = z.infer<typeof SessionCreatedSchema>;

/** `GET /v1/sessions/{id}` */
export const SessionViewSchema = z.object({
  sessionId: z.string(),
  agentId: z.string(),
  userId: z.string().optional(),
  createdAt: z.string(),
  expiresAt: z.string(),
  turns: z.number().int().nonnegative(),
  messages: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.string() })),
});
export type SessionView = z.infer<typeof SessionViewSchema>;

/**
 * What a message does when its session already has a turn reserved and not finished: `reject` (409
 * session_busy with the running run's id, nothing queued), `enqueue` (queued behind it, answered in order),
 * `interrupt` (the running turn, and any queued before this one, are cancelled; this one runs next) or
 * `steer` (handed to the running agent loop, which reads it before its next model call; when the running
 * turn has no next step, or turns are queued before this one, it runs as a queued turn instead).
 * The agent definition's `concurrency` is the default; a message's `onBusy` overrides it.
 */
export const ConcurrencyPolicySchema = z.enum(['reject', 'enqueue', 'interrupt', 'steer']);
export type ConcurrencyPolicy = z.infer<typeof ConcurrencyPolicySchema>;

/** `POST /v1/sessions/{id}/messages`, and one frame sent over the session WebSocket. */
export const SendMessageRequestSchema = z
  .object({ content: z.string().min(1).max(100_000), onBusy: ConcurrencyPolicySchema.optional() })
  .strict();
export type SendMessageRequest = z.infer<typeof SendMessageRequestSchema>;

/** The reply of a non-streamed turn. */
export const TurnReplySchema = RunOutcomeSchema.extend({ sessionId: z.string(), turn: z.number().int().positive() });
export type TurnReply = z.infer<typeof TurnReplySchema>;

/** The data of a turn queued on `keelson.sessions.turns.{tenant}.{sessionId}`. */
export const SessionTurnSchema = z.object({
  sessionId: z.string(),
  turn: z.number().int().positive(),
  content: z.string().min(1),
  /** The policy the gateway applied when it reserved the turn (absent from older gateways: enqueue). */
  onBusy: ConcurrencyPolicySchema.optional(),
  /** With `steer` on a busy session: the turn that was running, which this message was offered to. */
  steerInto: z.number().int().positive().optional(),
  /** The API key the gateway authenticated the call with: its budgets and token limits are charged too. */
  apiKeyId: z.string().min(1).max(128).optional(),
  /** The session's end user (CreateSessionRequest.userId), for memory. */
  userId: z.string().regex(USER_ID_PATTERN).optional(),
  /**
   * The gateway found the session idle and took the turn's lease when it reserved it, reading what the
   * runner needs: the first replica to receive the turn runs it as `owner` while `until` (epoch ms) is well
   * ahead, without reading the session again. A redelivery, or a claim too close to expiry, reads it anew.
   */
  claim: z
    .object({
      owner: z.string().min(1).max(64),
      until: z.number().int().positive(),
      agentId: z.string().min(1),
      agentVersion: z.string().min(1).optional(),
      history: z.array(z.object({ role: z.enum(['user', 'assistant']), content: z.string() })),
    })
    .optional(),
});
export type SessionTurn = z.infer<typeof SessionTurnSchema>;

/**
 * A concurrency decision, on the session's run log (`dev.keelson.session.policy.v1`), whenever a message
 * arrives while another turn is running: `queued` and `interrupted` (by the gateway) on the new turn's
 * subject before its first run event, `rejected` on the running turn's subject (the rejected message has no
 * turn). A `steer` message is decided by the session-agent: `steered` when the running loop took it in,
 * `queued` (with a `reason`) when it ran as a turn of its own. `affectedRunId` is the running run,
 * `{sessionId}:{turn}`.
 */
export const SessionPolicyDecisionSchema = z.object({
  sessionId: z.string(),
  /** The new message's turn; absent when it was rejected. */
  turn: z.number().int().positive().optional(),
  policy: ConcurrencyPolicySchema,
  decision: z.enum(['queued', 'rejected', 'interrupted', 'steered']),
  affectedRunId: z.string(),
  /** Why a steer message was queued instead. */
  reason: z.string().optional(),
});

/**
 * Core NATS, to every session-agent (Subjects.sessionSteer): turn `turn` of the session, reserved with the
 * `steer` policy while `into` ran, offered to the replica running `into`. Losing it only means the message
 * runs as a queued turn; the JetStream turn is the durable record.
 */
export const SessionSteerSchema = z.object({
  sessionId: z.string(),
  turn: z.number().int().positive(),
  into: z.number().int().positive(),
  content: z.string().min(1),
});
export type SessionSteer = z.infer<typeof SessionSteerSchema>;
export type SessionPolicyDecision = z.infer<typeof SessionPolicyDecisionSchema>;
