import { createHash } from 'node:crypto';
import { UsageRecordSchema, type UsageRecord, type UsageStatus } from '@keelson/contracts';
import { priceCall, type TokenCounts } from '../pricing/price-for';
import { PRICE_TABLE, type PriceTable } from '../pricing/price-table';

export interface UsageRecordInput extends TokenCounts {
  tenant: string;
  agentId: string;
  runId: string;
  /** Which model call of the run (0-based); with `runId` and `attempt` it makes the record id stable. */
  callIndex: number;
  /** The delivery of the run (a redelivered task runs again and pays again). Default 1. */
  attempt?: number;
  sessionId?: string;
  taskId?: string;
  apiKeyId?: string;
  /** The trace id of the call's span; leave it out only when tracing is off. */
  traceId?: string;
  provider: string;
  model: string;
  status: UsageStatus;
  /** True when the token counts come from `estimateUsage`, not from the provider. */
  estimated: boolean;
  /** Default: now. */
  timestamp?: Date;
  /** Default: the built-in table. */
  priceTable?: PriceTable;
}

/**
 * The id of a model call's record, derived rather than random: published as its Nats-Msg-Id, a record sent
 * twice for the same call (a retry of the publish) is stored once, while a new attempt is a new record.
 */
export function usageRecordId(tenant: string, runId: string, attempt: number, callIndex: number): string {
  return `usg_${createHash('sha256').update(`${tenant}\n${runId}\n${attempt}\n${callIndex}`).digest('hex').slice(0, 32)}`;
}

/**
 * Builds and validates the one usage record of a model call, priced with the versioned table; throws on input
 * the schema refuses (a bug in the caller, never silently dropped spend).
 */
export function usageRecord(input: UsageRecordInput): UsageRecord {
  const cost = priceCall(input.provider, input.model, input, input.priceTable ?? PRICE_TABLE);
  return UsageRecordSchema.parse({
    id: usageRecordId(input.tenant, input.runId, input.attempt ?? 1, input.callIndex),
    timestamp: (input.timestamp ?? new Date()).toISOString(),
    tenant: input.tenant,
    agentId: input.agentId,
    ...(input.sessionId ? { sessionId: input.sessionId } : {}),
    ...(input.taskId ? { taskId: input.taskId } : {}),
    runId: input.runId,
    callIndex: input.callIndex,
    ...(input.apiKeyId ? { apiKeyId: input.apiKeyId } : {}),
    ...(input.traceId ? { traceId: input.traceId } : {}),
    provider: input.provider,
    model: input.model,
    inputTokens: input.inputTokens,
    outputTokens: input.outputTokens,
    cachedInputTokens: input.cachedInputTokens ?? 0,
    costMicroUsd: cost.costMicroUsd,
    priceTableVersion: cost.priceTableVersion,
    unpriced: cost.unpriced,
    status: input.status,
    estimated: input.estimated,
  });
}

/** Maps a run's finish reason to the record's status: `length` is a truncated call, `error` a failed one. */
export function usageStatusFor(finishReason: 'stop' | 'length' | 'error' | 'cancelled' | 'tool_calls'): UsageStatus {
  if (finishReason === 'length') return 'truncated';
  if (finishReason === 'cancelled') return 'cancelled';
  if (finishReason === 'error') return 'failed';
  return 'completed';
}
