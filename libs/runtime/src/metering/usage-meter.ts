import { AuditTypes, UsageSubjects, type UsageRecord } from '@keelson/contracts';
import type { AuditSink } from '@keelson/audit';
import {
  CallMeter,
  describeExceeded,
  type BudgetLedger,
  type BudgetStore,
  type CallContext,
  type MeteredCall,
  type RateLimitRule,
  type RateLimiter,
} from '@keelson/cost';
import { metricsRegistry, secondsSince } from '@keelson/observability';
import { trace } from '@opentelemetry/api';
import type { ModelRequest } from '../model/provider';
import type { EventPublisher } from '../run-log/run-log';
import type { BudgetRefusal, MeteredModelCall, ModelCallMetering } from '../run/metering';

/** How long the answer to "does this tenant have any budget?" is reused before Redis is asked again. */
export const BUDGET_PRESENCE_TTL_MS = 5_000;
const PUBLISH_ATTEMPTS = 3;

export interface UsageMeterDeps {
  ledger: BudgetLedger;
  budgets: Pick<BudgetStore, 'list'>;
  publisher: EventPublisher;
  logger: { warn(message: string, meta?: Record<string, unknown>): void; error(message: string, meta?: Record<string, unknown>): void };
  /** Tokens-per-minute limits: the tokens a call used are charged to them after it (the gateway refuses when spent). */
  rateLimits?: { limiter: Pick<RateLimiter, 'consumeTokens'>; rulesFor(tenant: string): readonly RateLimitRule[] };
  meter?: CallMeter;
  /** Each call is also a `model.call` audit event carrying its usage. */
  audit?: AuditSink;
}

/** Who a run's model calls are charged to: the budget scopes and the usage records' fields. */
export type RunAccount = Omit<CallContext, 'callIndex' | 'traceId'>;

/**
 * The service side of ModelCallMetering: budgets in Redis through @keelson/cost's CallMeter (atomic across
 * every replica), and each call's usage record published on KEELSON_USAGE (`keelson.usage.{tenant}.{agent}`,
 * the record id as Nats-Msg-Id, so a retried publish is dropped). A tenant without budgets costs no Redis
 * call: whether it has any is looked up at most every BUDGET_PRESENCE_TTL_MS, so a budget created for a
 * tenant applies within that time.
 */
export class UsageMeter {
  private readonly meter: CallMeter;
  private readonly presence = new Map<string, { has: boolean; at: number }>();

  constructor(private readonly deps: UsageMeterDeps) {
    this.meter = deps.meter ?? new CallMeter(deps.ledger);
  }

  forRun(account: RunAccount): ModelCallMetering {
    return {
      begin: async ({ provider, request, callIndex }) => {
        const traceId = trace.getActiveSpan()?.spanContext().traceId;
        const ctx: CallContext = { ...account, callIndex, ...(traceId ? { traceId } : {}) };
        const cost = costRequest(provider, request);
        const call: CallLabels = { model: request.model, startNs: process.hrtime.bigint() };
        if (!(await this.hasBudgets(account.tenant))) return this.wrap(this.meter.unbudgeted(ctx, cost), account, call);
        const begun = await this.meter.begin(ctx, cost);
        if (begun.kind === 'refused') {
          countBudgetRefusal(account.tenant, begun.budget);
          return { refused: begun.budget, message: describeExceeded(begun.budget, begun.exceeded) };
        }
        return this.wrap(begun.call, account, call);
      },
    };
  }

  private async hasBudgets(tenant: string): Promise<boolean> {
    const known = this.presence.get(tenant);
    if (known && Date.now() - known.at < BUDGET_PRESENCE_TTL_MS) return known.has;
    const has = (await this.deps.budgets.list(tenant)).length > 0;
    this.presence.set(tenant, { has, at: Date.now() });
    return has;
  }

  private wrap(call: MeteredCall, account: RunAccount, labels: CallLabels): MeteredModelCall {
    let firstOutput = true;
    return {
      onOutput: async (text): Promise<BudgetRefusal | undefined> => {
        if (firstOutput && text !== '') {
          firstOutput = false;
          observeFirstToken(account, labels);
        }
        const check = await call.onOutput(text);
        if (check?.kind !== 'crossed') return undefined;
        countBudgetRefusal(account.tenant, check.budget);
        return { refused: check.budget, message: describeExceeded(check.budget, check.exceeded) };
      },
      finish: async (end) => {
        let record: UsageRecord;
        try {
          record = await call.finish(end);
        } catch (err) {
          this.deps.logger.error('could not settle a model call', { tenant: account.tenant, runId: account.runId, error: (err as Error).message });
          return;
        }
        countUsage(record);
        await this.publish(record);
        await this.audit(record);
        await this.chargeTokens(account, record.inputTokens + record.outputTokens);
      },
    };
  }

  /** Retried a few times; a record that still cannot be published is logged whole, to be replayed from the log. */
  private async publish(record: UsageRecord): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.deps.publisher.publish(UsageSubjects.record(record.tenant, record.agentId), record, { msgId: record.id });
        return;
      } catch (err) {
        if (attempt >= PUBLISH_ATTEMPTS) {
          this.deps.logger.error('usage record not published', { usageRecord: record, error: (err as Error).message });
          return;
        }
        await new Promise((resolve) => setTimeout(resolve, 50 * attempt));
      }
    }
  }

  private async audit(record: UsageRecord): Promise<void> {
    if (!this.deps.audit) return;
    const { id, tenant, agentId, sessionId, taskId, runId, apiKeyId, traceId: _traceId, timestamp: _timestamp, ...usage } = record;
    try {
      await this.deps.audit.record({
        id: `model:${id}`,
        tenant,
        type: AuditTypes.modelCall,
        agentId,
        runId,
        ...(sessionId ? { sessionId } : {}),
        ...(taskId ? { taskId } : {}),
        ...(apiKeyId ? { actor: { kind: 'api_key', id: apiKeyId } } : {}),
        data: { usageRecordId: id, ...usage },
      });
    } catch (err) {
      // Like the usage record: logged whole, so it can be replayed; the call itself already happened.
      this.deps.logger.error('model.call audit event not published', { usageRecord: record, error: (err as Error).message });
    }
  }

  private async chargeTokens(account: RunAccount, tokens: number): Promise<void> {
    const limits = this.deps.rateLimits;
    const rules = limits?.rulesFor(account.tenant).filter((r) => r.kind === 'tokens' && r.perMinute > 0) ?? [];
    if (!limits || rules.length === 0) return;
    try {
      await limits.limiter.consumeTokens({ tenant: account.tenant, ...(account.apiKeyId ? { apiKeyId: account.apiKeyId } : {}), rules }, tokens);
    } catch (err) {
      this.deps.logger.warn('could not charge tokens to the rate limits', { tenant: account.tenant, error: (err as Error).message });
    }
  }
}

interface CallLabels {
  model: string;
  startNs: bigint;
}

/**
 * keelson_time_to_first_token_seconds: from metering's begin (just before the provider is called) to the
 * call's first output, text or tool-call arguments. The execution model follows from the run's account.
 */
function observeFirstToken(account: RunAccount, call: CallLabels): void {
  const executionModel = account.taskId ? 'task' : account.sessionId ? 'session' : 'stateless';
  metricsRegistry()
    .histogram('timeToFirstToken')
    .observe({ agent: account.agentId, model: call.model, execution_model: executionModel }, secondsSince(call.startNs));
}

/** A model call's usage record as keelson_model_* counters. */
function countUsage(record: UsageRecord): void {
  const registry = metricsRegistry();
  const who = { tenant: record.tenant, agent: record.agentId, model: record.model };
  registry.counter('modelCalls').inc({ ...who, provider: record.provider, status: record.status });
  const tokens = registry.counter('modelTokens');
  tokens.inc({ ...who, direction: 'input' }, record.inputTokens);
  tokens.inc({ ...who, direction: 'output' }, record.outputTokens);
  tokens.inc({ ...who, direction: 'cached_input' }, record.cachedInputTokens);
  registry.counter('modelCost').inc(who, record.costMicroUsd / 1e6);
}

/** A model call refused (or cut off) by a budget: keelson_budget_refusals_total. */
function countBudgetRefusal(tenant: string, budget: { scope: string; window: string }): void {
  metricsRegistry().counter('budgetRefusals').inc({ tenant, scope: budget.scope, window: budget.window });
}

function costRequest(provider: string, request: ModelRequest) {
  return {
    provider,
    model: request.model,
    messages: request.messages,
    ...(request.tools ? { tools: request.tools } : {}),
    ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
  };
}
