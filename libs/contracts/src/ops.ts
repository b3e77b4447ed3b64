import { z } from 'zod';
import { BudgetStateSchema } from './budget-state';
import { TENANT_ID_PATTERN } from './ids';

/**
 * The operator dashboard's data (`GET /v1/ops/overview`, `GET /v1/ops/runs`) and the replica stats every
 * service answers on `keelson.ops.stats`. Times are ISO 8601 UTC; money is integer micro-USD, as everywhere.
 */

/** Core NATS scatter-gather: every replica of every service answers with its OpsReplicaStats. */
export const OpsSubjects = { stats: 'keelson.ops.stats' } as const;

export const OpsReplicaStatsSchema = z.object({
  service: z.string().min(1).max(64),
  /** host:pid, unique per process. */
  instance: z.string().min(1).max(200),
  startedAt: z.iso.datetime(),
  rssBytes: z.number().int().nonnegative(),
  /** Sessions with a turn on this replica in the last SESSION_ACTIVE_WINDOW (session-agent only). */
  sessionsActive: z.number().int().nonnegative().optional(),
  /** Session turns running now (session-agent only). */
  turnsRunning: z.number().int().nonnegative().optional(),
  /** Task runs running now (task-worker only). */
  taskRunsRunning: z.number().int().nonnegative().optional(),
});
export type OpsReplicaStats = z.infer<typeof OpsReplicaStatsSchema>;

export const ExecutionModelSchema = z.enum(['stateless', 'session', 'task', 'other']);

/** One time bucket of gateway traffic (this gateway replica's requests). */
export const TrafficPointSchema = z.object({
  /** Start of the bucket. */
  t: z.iso.datetime(),
  requests: z.number().int().nonnegative(),
  /** Answers with status >= 500: the errors operators own. */
  errors: z.number().int().nonnegative(),
  /** Answers with a 4xx status (bad input, auth, limits): the callers' side, shown apart. */
  clientErrors: z.number().int().nonnegative(),
  /** Latency percentiles in milliseconds; absent for an empty bucket. */
  p50Ms: z.number().nonnegative().optional(),
  p95Ms: z.number().nonnegative().optional(),
  p99Ms: z.number().nonnegative().optional(),
});
export type TrafficPoint = z.infer<typeof TrafficPointSchema>;

export const TrafficSeriesSchema = z.object({
  executionModel: ExecutionModelSchema,
  points: z.array(TrafficPointSchema),
});

/** Token spend of one tenant on one model, per time bucket. */
export const SpendSeriesSchema = z.object({
  tenant: z.string().regex(TENANT_ID_PATTERN),
  model: z.string(),
  totalMicroUsd: z.number().int().nonnegative(),
  totalTokens: z.number().int().nonnegative(),
  points: z.array(z.object({ t: z.iso.datetime(), costMicroUsd: z.number().int().nonnegative(), tokens: z.number().int().nonnegative() })),
});

/** A budget with its burn rate over the window and, at that rate, when it runs out. */
export const BudgetBurnSchema = z.object({
  tenant: z.string().regex(TENANT_ID_PATTERN),
  budget: BudgetStateSchema,
  burnMicroUsdPerHour: z.number().nonnegative(),
  /** At the window's burn rate; absent when nothing burns or the budget resets first. */
  exhaustedAt: z.iso.datetime().optional(),
});

export const QueueDepthSchema = z.object({
  stream: z.string(),
  consumer: z.string(),
  pending: z.number().int().nonnegative(),
  ackPending: z.number().int().nonnegative(),
  redelivered: z.number().int().nonnegative(),
});

export const RecentFailureSchema = z.object({
  at: z.iso.datetime(),
  tenant: z.string().regex(TENANT_ID_PATTERN),
  /** The audit event type, e.g. run.failed or task.failed. */
  type: z.string(),
  agentId: z.string().optional(),
  runId: z.string().optional(),
  taskId: z.string().optional(),
  sessionId: z.string().optional(),
  traceId: z.string().optional(),
  message: z.string(),
  /** Failed attempts of the same run in the window (a task retried); the newest is the one shown. */
  attempts: z.number().int().positive(),
  links: z.object({
    /** The audit records of the same trace (`/v1/audit/events?traceId=`), or of the run when there is no trace. */
    audit: z.string(),
    /** TRACE_URL_TEMPLATE filled with the trace id; absent when no template is configured or no trace id. */
    trace: z.string().optional(),
    /** The dashboard's run viewer query (`/v1/ops/runs?...`), when the failure belongs to a task or session turn. */
    run: z.string().optional(),
  }),
});
export type RecentFailure = z.infer<typeof RecentFailureSchema>;

export const OpsOverviewSchema = z.object({
  generatedAt: z.iso.datetime(),
  windowSeconds: z.number().int().positive(),
  bucketSeconds: z.number().int().positive(),
  /** The tenants this view covers: the caller's own, or all of them for an operator tenant (OPS_OPERATOR_TENANTS). */
  tenants: z.union([z.literal('all'), z.array(z.string())]),
  traffic: z.array(TrafficSeriesSchema),
  spend: z.array(SpendSeriesSchema),
  budgets: z.array(BudgetBurnSchema),
  /** Durable consumers' backlogs; platform-wide, so empty unless the caller is an operator. */
  queues: z.array(QueueDepthSchema),
  /** Platform-wide, so empty unless the caller is an operator. */
  replicas: z.array(OpsReplicaStatsSchema),
  /** Totals over the replicas; platform-wide, so only in an operator's view. */
  activity: z
    .object({
      sessionsActive: z.number().int().nonnegative(),
      turnsRunning: z.number().int().nonnegative(),
      taskRunsRunning: z.number().int().nonnegative(),
    })
    .optional(),
  /** The newest failed runs in the window, newest first. */
  failures: z.array(RecentFailureSchema),
  /** Parts that could not be read this time (e.g. audit-service not answering), in words; the rest is still drawn. */
  warnings: z.array(z.string()),
});
export type OpsOverview = z.infer<typeof OpsOverviewSchema>;

/** One step of a run as the run log holds it, for the run viewer. */
export const RunStepSchema = z.object({
  seq: z.number().int().positive(),
  /** The SSE event name: run.started, run.delta, run.tool_call, run.tool_result, run.routed, run.completed... */
  name: z.string(),
  time: z.iso.datetime(),
  /** The CloudEvent's data as logged (already through the output filter). */
  data: z.unknown(),
});

export const RunReplaySchema = z.object({
  tenant: z.string().regex(TENANT_ID_PATTERN),
  kind: z.enum(['task', 'session']),
  /** The task id or session id. */
  id: z.string(),
  steps: z.array(RunStepSchema),
  /** True when the run log held more steps than one replay returns (MAX_REPLAY_STEPS). */
  truncated: z.boolean(),
});
export type RunReplay = z.infer<typeof RunReplaySchema>;
