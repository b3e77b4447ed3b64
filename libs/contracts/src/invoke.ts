import { z } from 'zod';
import { BudgetStateSchema } from './budget-state';
import { ChatMessageSchema, RunOutcomeSchema } from './agents';
import { AGENT_ID_PATTERN, RESOURCE_ID_PATTERN, TENANT_ID_PATTERN, USER_ID_PATTERN } from './ids';

/** Stateless request-response: the call carries its full context, one of `input` or `messages`. */
export const InvokeRequestSchema = z
  .object({
    input: z.string().min(1).max(100_000).optional(),
    messages: z.array(ChatMessageSchema).min(1).max(500).optional(),
    /** The end user the call acts for: an agent with a memory policy recalls that user's memories. */
    userId: z.string().regex(USER_ID_PATTERN, 'expected 1-128 characters of A-Z a-z 0-9 _ -').optional(),
  })
  .strict()
  .refine((body) => (body.input === undefined) !== (body.messages === undefined), {
    message: 'give exactly one of `input` or `messages`',
    path: ['input'],
  });
export type InvokeRequest = z.infer<typeof InvokeRequestSchema>;

export const InvokeResponseSchema = RunOutcomeSchema;
export type InvokeResponse = z.infer<typeof InvokeResponseSchema>;

/** The core-NATS request the gateway sends to whichever agent replica answers first. */
export const InvokeRpcRequestSchema = z.object({
  tenant: z.string().regex(TENANT_ID_PATTERN),
  agentId: z.string().regex(AGENT_ID_PATTERN),
  messages: z.array(ChatMessageSchema).min(1),
  /**
   * Asks for the run's events as well as the reply: the responder publishes run.started, coalesced
   * run.delta and run.completed / run.failed on `Subjects.invokeRun(tenant, runId)` before it replies.
   * The caller subscribes to that subject before sending the request.
   */
  runId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
  /**
   * Lets the caller cancel the run (its client went away): a message on `Subjects.invokeCancel(tenant,
   * cancelId)` aborts it, the model request included, so no more tokens are spent on an answer nobody reads.
   */
  cancelId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
  /** The API key the gateway authenticated the call with: its budgets and token limits are charged too. */
  apiKeyId: z.string().min(1).max(128).optional(),
  userId: z.string().regex(USER_ID_PATTERN).optional(),
  /** Caps the agent's output tokens for this call (never above the agent's own limit). */
  maxOutputTokens: z.number().int().positive().optional(),
});
export type InvokeRpcRequest = z.infer<typeof InvokeRpcRequestSchema>;

/** An RPC reply is either the outcome or an error in the HTTP error shape. */
export const InvokeRpcReplySchema = z.union([
  z.object({ ok: z.literal(true), outcome: RunOutcomeSchema }),
  z.object({
    ok: z.literal(false),
    status: z.number().int(),
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    budget: BudgetStateSchema.optional(),
    /** A responder at capacity (503 overloaded): when a retry may get in, for the caller's Retry-After. */
    retryAfterSeconds: z.number().int().positive().optional(),
  }),
]);
export type InvokeRpcReply = z.infer<typeof InvokeRpcReplySchema>;
