import { z } from 'zod';
import { AGENT_ID_PATTERN, RESOURCE_ID_PATTERN, TENANT_ID_PATTERN } from './ids';
import type { StreamSpec } from './streams';

/**
 * Cost accounting: one usage record per model call, published on `keelson.usage.{tenant}.{agentId}` into the
 * KEELSON_USAGE stream that audit and metrics consume. Built by `usageRecord()` in `@keelson/cost`.
 */

/** How the model call ended; every ending yields a record, the stream is never left without one. */
export const UsageStatusSchema = z.enum(['completed', 'cancelled', 'failed', 'truncated']);
export type UsageStatus = z.infer<typeof UsageStatusSchema>;

export const USAGE_ID_PATTERN = /^usg_[a-f0-9]{32}$/;

const tokens = z.number().int().nonnegative();

export const UsageRecordSchema = z
  .object({
    /** Stable per model call (see `usageRecordId`): the record's Nats-Msg-Id, so a re-publish is dropped. */
    id: z.string().regex(USAGE_ID_PATTERN),
    /** When the call ended, ISO 8601 UTC. */
    timestamp: z.iso.datetime(),
    tenant: z.string().regex(TENANT_ID_PATTERN),
    agentId: z.string().regex(AGENT_ID_PATTERN),
    sessionId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
    taskId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
    /** The run (task run, session turn or invoke) the call belongs to. */
    runId: z.string().regex(/^[A-Za-z0-9_:-]{1,200}$/, "a run id: a task id, an invoke run id or {sessionId}:{turn}"),
    /** Which model call of the run this is (0-based): a run with tools calls the model more than once. */
    callIndex: z.number().int().nonnegative(),
    apiKeyId: z.string().min(1).max(128).optional(),
    /** The W3C trace id of the call's span; absent only when tracing is off (OTEL_SDK_DISABLED). */
    traceId: z.string().min(1).max(64).optional(),
    provider: z.string().min(1).max(64),
    model: z.string().min(1).max(200),
    /** All prompt tokens, cached ones included. */
    inputTokens: tokens,
    outputTokens: tokens,
    /** Of inputTokens, those read from the provider's prompt cache (billed at the cached price). */
    cachedInputTokens: tokens,
    /** Integer micro-USD (1 USD = 1,000,000), rounded up once per record. 0 when unpriced. */
    costMicroUsd: z.number().int().nonnegative(),
    priceTableVersion: z.string().min(1),
    /** The price table has no entry for this provider and model: cost is 0 and must not be trusted. */
    unpriced: z.boolean(),
    status: UsageStatusSchema,
    /** Token counts come from a local tokenizer because the provider reported none (cut, cancelled, failed). */
    estimated: z.boolean(),
  })
  .refine((r) => !(r.sessionId && r.taskId), { message: 'a call belongs to a session or a task, not both', path: ['taskId'] })
  .refine((r) => r.cachedInputTokens <= r.inputTokens, { message: 'cached tokens are part of inputTokens', path: ['cachedInputTokens'] });
export type UsageRecord = z.infer<typeof UsageRecordSchema>;

/** Subjects of usage records; tokens come from validated ids, so a subject never gains a token. */
export const UsageSubjects = {
  record: (tenant: string, agentId: string) => `keelson.usage.${tenant}.${agentId}`,
  tenant: (tenant: string) => `keelson.usage.${tenant}.>`,
  all: 'keelson.usage.>',
} as const;

/** Tenant and agent of a usage subject, or undefined when it is not one. */
export function parseUsageSubject(subject: string): { tenant: string; agentId: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'keelson' || parts[1] !== 'usage') return undefined;
  return { tenant: parts[2]!, agentId: parts[3]! };
}

const DAY = 24 * 60 * 60_000;

/** Usage records kept for replay by audit and metrics; the record id de-duplicates re-publishes for an hour. */
export const UsageStream = {
  name: 'KEELSON_USAGE',
  subjects: [UsageSubjects.all],
  retention: 'limits',
  maxAgeMs: 35 * DAY,
  duplicateWindowMs: 60 * 60_000,
  description: 'One usage record per model call (tokens, cost, price table version), for audit, metrics and /v1/usage.',
} as const satisfies StreamSpec;

export { BudgetStateSchema, type BudgetState } from './budget-state';
