import { z } from 'zod';
import { RunOutcomeSchema } from './agents';
import { TaskErrorSchema } from './tasks';

/**
 * The run log: what SSE, WebSocket and NATS subscribers see of a run, in order.
 * `seq` counts events within one run attempt; `attempt` rises when a run restarts on another replica,
 * so a reader can drop a half-streamed attempt.
 */
export const RunStartedSchema = z.object({ runId: z.string(), attempt: z.number().int().positive(), agentId: z.string() });
export const RunDeltaSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  seq: z.number().int().nonnegative(),
  text: z.string(),
});
export const RunCompletedSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  outcome: RunOutcomeSchema,
});
export const RunFailedSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  error: TaskErrorSchema,
});
/**
 * The model asked for a tool. `seq` is the seq the next run.delta will carry, placing the call in the text;
 * `arguments` is the model's JSON text as it came (it may be invalid: the result then says so).
 */
export const RunToolCallSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  seq: z.number().int().nonnegative().optional(),
  callId: z.string(),
  name: z.string(),
  arguments: z.string(),
});
/** A tool call's result as given back to the model: `content` when ok, `error` when the call failed. */
export const RunToolResultSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  callId: z.string(),
  name: z.string(),
  ok: z.boolean(),
  content: z.string().optional(),
  error: z.string().optional(),
});
/**
 * The run paused: the model called `call`, a tool its agent marks as needing human approval. The run
 * resumes (possibly on another replica) once `POST /v1/approvals/{approvalId}` or a NATS approval command
 * decides it; one still undecided at `expiresAt` counts as rejected.
 */
export const RunApprovalRequiredSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  approvalId: z.string(),
  callId: z.string(),
  name: z.string(),
  arguments: z.string(),
  expiresAt: z.string(),
});
const RoutedCandidateSchema = z.object({ provider: z.string(), model: z.string() });
/**
 * Which model a routed agent's call went to, and why (an agent whose `model` names a routing policy; fixed
 * models log none). Published once per model call, before the call's first run.delta: `candidate` is the
 * model that answered (the last one tried when every candidate failed; run.failed follows). `callIndex` is
 * the call's first attempt; each fallback took the next index, so the answer came from callIndex +
 * fallbacks.length (the usage records carry the same indexes). `reasons` are the classifier's features and
 * the router's (`budget_low:<n>pct`, `session_pinned`, `pin_ignored:*`, `cache_hit`).
 */
export const RunRoutedSchema = z.object({
  runId: z.string(),
  attempt: z.number().int().positive(),
  callIndex: z.number().int().nonnegative(),
  policy: z.string(),
  tier: z.string(),
  /** 0-100 from the complexity classifier. */
  score: z.number().int().min(0).max(100),
  candidate: RoutedCandidateSchema,
  reasons: z.array(z.string()),
  /** The session's pinned model was put first (and so answered, unless it is in `fallbacks`). */
  pinned: z.boolean(),
  /** Served one tier lower than the request scored, because the remaining budget is low. */
  downgraded: z.boolean(),
  /** The candidates passed over before `candidate`, in order, each with why (before any output streamed). */
  fallbacks: z.array(z.object({ candidate: RoutedCandidateSchema, outcome: z.enum(['error', 'timeout']), error: z.string() })),
});
export type RunRouted = z.infer<typeof RunRoutedSchema>;
export type RunApprovalRequired = z.infer<typeof RunApprovalRequiredSchema>;
export type RunToolCall = z.infer<typeof RunToolCallSchema>;
export type RunToolResult = z.infer<typeof RunToolResultSchema>;
export type RunStarted = z.infer<typeof RunStartedSchema>;
export type RunDelta = z.infer<typeof RunDeltaSchema>;
export type RunCompleted = z.infer<typeof RunCompletedSchema>;
export type RunFailed = z.infer<typeof RunFailedSchema>;

/** SSE event names, one per run event type. */
export const RunEventNames = {
  started: 'run.started',
  delta: 'run.delta',
  toolCall: 'run.tool_call',
  toolResult: 'run.tool_result',
  approvalRequired: 'run.approval_required',
  routed: 'run.routed',
  completed: 'run.completed',
  failed: 'run.failed',
  /** A concurrency decision of the session (see SessionPolicyDecisionSchema); not a run event, but on the run log. */
  policy: 'session.policy',
} as const;
