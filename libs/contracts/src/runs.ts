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
export type RunStarted = z.infer<typeof RunStartedSchema>;
export type RunDelta = z.infer<typeof RunDeltaSchema>;
export type RunCompleted = z.infer<typeof RunCompletedSchema>;
export type RunFailed = z.infer<typeof RunFailedSchema>;

/** SSE event names, one per run event type. */
export const RunEventNames = {
  started: 'run.started',
  delta: 'run.delta',
  completed: 'run.completed',
  failed: 'run.failed',
} as const;
