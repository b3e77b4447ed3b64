import { z } from 'zod';
import { AGENT_ID_PATTERN, TENANT_ID_PATTERN } from './ids';

/**
 * Rollouts of agent versions and kill switches (docs/rollouts.md). Both are platform-level: agents are
 * global, so only operator tenants (OPS_OPERATOR_TENANTS) may change them, through `/v1/rollouts` and
 * `/v1/kill-switches` (scope `admin`). Both live in Redis, so every replica of every service sees them.
 */

/** An agent file's `version`: any non-empty string, short enough to be a metric label. */
export const AgentVersionSchema = z.string().min(1).max(64);

export const ROLLOUT_STATES = ['running', 'paused', 'rolled_back', 'promoted'] as const;
export type RolloutState = (typeof ROLLOUT_STATES)[number];

export const RolloutThresholdsSchema = z
  .object({
    /** The canary is rolled back when its failed runs / runs exceed this (0 to 1). */
    maxErrorRate: z.number().min(0).max(1),
    /** ...or when its average cost per run exceeds this (micro-USD); no cost limit when absent. */
    maxCostPerRunMicroUsd: z.number().int().positive().optional(),
    /** ...or when its error rate exceeds stable's by more than this (both with minRuns); off when absent. */
    maxErrorRateAboveStable: z.number().min(0).max(1).optional(),
    /** No judgement before the canary has had this many runs. */
    minRuns: z.number().int().positive().max(1_000_000),
  })
  .strict();
export type RolloutThresholds = z.infer<typeof RolloutThresholdsSchema>;

export const DEFAULT_ROLLOUT_THRESHOLDS: RolloutThresholds = { maxErrorRate: 0.05, minRuns: 50 };

/** What a rollback found: the numbers that crossed a threshold. */
export const RolloutVerdictSchema = z
  .object({
    reasons: z.array(z.string()),
    canary: z.object({ runs: z.number(), failures: z.number(), errorRate: z.number(), costPerRunMicroUsd: z.number() }),
    stable: z.object({ runs: z.number(), failures: z.number(), errorRate: z.number(), costPerRunMicroUsd: z.number() }),
  })
  .strict();
export type RolloutVerdict = z.infer<typeof RolloutVerdictSchema>;

/** A rollout as stored (one per agent id) and shown. */
export const RolloutSchema = z
  .object({
    agentId: z.string().regex(AGENT_ID_PATTERN),
    stable: AgentVersionSchema,
    canary: AgentVersionSchema,
    /** The share of runs (0 to 1) that go to the canary while `running`. */
    canaryShare: z.number().min(0).max(1),
    thresholds: RolloutThresholdsSchema,
    state: z.enum(ROLLOUT_STATES),
    /** Tenants pinned to a version, whatever the share and state (`{"acme": "1"}`). */
    pins: z.record(z.string().regex(TENANT_ID_PATTERN), AgentVersionSchema),
    /** Changes whenever stable or canary changes: outcome counters are kept per generation. */
    generation: z.string().min(1).max(64),
    /** Bumped by every change: a change is written only over the revision it read (compare and set). */
    revision: z.number().int().nonnegative(),
    startedAt: z.string(),
    updatedAt: z.string(),
    /** Who made the last change: an API key id, or `evaluator`. */
    updatedBy: z.string().optional(),
    /** Why the last change of state happened (a rollback's reasons, an operator's words). */
    reason: z.string().max(1000).optional(),
    verdict: RolloutVerdictSchema.optional(),
  })
  .strict();
export type Rollout = z.infer<typeof RolloutSchema>;

/** `PUT /v1/rollouts/{agentId}`: starts a rollout, or changes the running one (share, thresholds, pins, pause). */
export const PutRolloutRequestSchema = z
  .object({
    stable: AgentVersionSchema,
    canary: AgentVersionSchema,
    canaryShare: z.number().min(0).max(1),
    thresholds: RolloutThresholdsSchema.optional(),
    pins: z.record(z.string().regex(TENANT_ID_PATTERN), AgentVersionSchema).optional(),
    /** `paused` sends every run to stable and keeps the share for later; default `running`. */
    state: z.enum(['running', 'paused']).optional(),
    reason: z.string().max(1000).optional(),
  })
  .strict();
export type PutRolloutRequest = z.infer<typeof PutRolloutRequestSchema>;

/** `POST /v1/rollouts/{agentId}/promote|rollback`. */
export const RolloutActionRequestSchema = z.object({ reason: z.string().max(1000).optional() }).strict();

/** Runs, failures and cost of one version within a rollout's generation. */
export const VersionOutcomesSchema = z.object({
  version: z.string(),
  runs: z.number().int().nonnegative(),
  failures: z.number().int().nonnegative(),
  costMicroUsd: z.number().nonnegative(),
  errorRate: z.number(),
  costPerRunMicroUsd: z.number(),
});
export type VersionOutcomes = z.infer<typeof VersionOutcomesSchema>;

/** A rollout as `GET /v1/rollouts` shows it: with both versions' numbers so far. */
export const RolloutViewSchema = RolloutSchema.extend({
  outcomes: z.object({ stable: VersionOutcomesSchema, canary: VersionOutcomesSchema }),
});
export type RolloutView = z.infer<typeof RolloutViewSchema>;

export const KILL_SWITCH_KINDS = ['agent', 'tenant'] as const;
export type KillSwitchKind = (typeof KILL_SWITCH_KINDS)[number];

/** `PUT /v1/kill-switches/{kind}/{id}`: the reason is required, so an incident leaves words behind. */
export const SetKillSwitchRequestSchema = z.object({ reason: z.string().min(1).max(1000) }).strict();

export const KillSwitchSchema = z.object({
  kind: z.enum(KILL_SWITCH_KINDS),
  /** The agent id or the tenant id. */
  id: z.string(),
  reason: z.string(),
  setAt: z.string(),
  /** The API key (or `jwt:{sub}`) that set it. */
  setBy: z.string().optional(),
});
export type KillSwitch = z.infer<typeof KillSwitchSchema>;
