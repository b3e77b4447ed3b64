import { z } from 'zod';
import { BudgetStateSchema } from './budget-state';
import { RunOutcomeSchema, UsageSchema } from './agents';
import { AGENT_ID_PATTERN, IDEMPOTENCY_KEY_PATTERN, RESOURCE_ID_PATTERN, USER_ID_PATTERN } from './ids';

export const TaskInputSchema = z.string().min(1).max(100_000);

/** `POST /v1/tasks` */
export const CreateTaskRequestSchema = z
  .object({
    agentId: z.string().regex(AGENT_ID_PATTERN, 'must be a lowercase agent id'),
    input: TaskInputSchema,
    idempotencyKey: z.string().regex(IDEMPOTENCY_KEY_PATTERN, 'must be 1-200 printable ASCII characters').optional(),
    /** The end user the task acts for: an agent with a memory policy remembers and recalls per user. */
    userId: z.string().regex(USER_ID_PATTERN, 'expected 1-128 characters of A-Z a-z 0-9 _ -').optional(),
  })
  .strict();
export type CreateTaskRequest = z.infer<typeof CreateTaskRequestSchema>;

/**
 * The body of a message on `keelson.tasks.{tenant}.{agentId}`: what a NATS publisher sends.
 * Tenant and agent come from the subject, never from the body, so a publisher's permissions on
 * subjects are the whole of its authority.
 */
export const TaskMessageSchema = z
  .object({
    input: TaskInputSchema,
    taskId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
    /**
     * Set by the gateway: the API key the task was submitted with, whose budgets are charged too. A NATS
     * publisher has no key; what it sets here only moves spend between its own tenant's keys.
     */
    apiKeyId: z.string().min(1).max(128).optional(),
    userId: z.string().regex(USER_ID_PATTERN).optional(),
  })
  .passthrough();
export type TaskMessage = z.infer<typeof TaskMessageSchema>;

export const TaskStatusSchema = z.enum(['queued', 'running', 'succeeded', 'failed']);
export type TaskStatus = z.infer<typeof TaskStatusSchema>;
export const TERMINAL_TASK_STATUSES: readonly TaskStatus[] = ['succeeded', 'failed'];

export const TaskErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  /** With budget_exceeded: the budget that refused the model call or cut its stream. */
  budget: BudgetStateSchema.optional(),
});
export type TaskError = z.infer<typeof TaskErrorSchema>;

/** `GET /v1/tasks/{id}`, and what the task store keeps. */
export const TaskViewSchema = z.object({
  taskId: z.string(),
  agentId: z.string(),
  status: TaskStatusSchema,
  attempts: z.number().int().nonnegative(),
  createdAt: z.string(),
  updatedAt: z.string(),
  result: RunOutcomeSchema.optional(),
  error: TaskErrorSchema.optional(),
});
export type TaskView = z.infer<typeof TaskViewSchema>;

/** `202` body of `POST /v1/tasks`. */
export const TaskAcceptedSchema = z.object({
  taskId: z.string(),
  status: TaskStatusSchema,
  duplicate: z.boolean(),
});
export type TaskAccepted = z.infer<typeof TaskAcceptedSchema>;

/** The data of the one message published on `keelson.results.{tenant}.{agentId}.{taskId}`. */
export const TaskResultSchema = z.object({
  taskId: z.string(),
  agentId: z.string(),
  status: z.enum(['succeeded', 'failed']),
  attempts: z.number().int().positive(),
  output: z.string().optional(),
  usage: UsageSchema.optional(),
  error: TaskErrorSchema.optional(),
});
export type TaskResult = z.infer<typeof TaskResultSchema>;
