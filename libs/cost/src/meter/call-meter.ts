import type { Usage, UsageRecord, UsageStatus } from '@keelson/contracts';
import { BudgetLedger, type MidStreamResult } from '../budgets/budget-ledger';
import { scopesFor, type BudgetExceeded } from '../budgets/budget-types';
import { priceCall } from '../pricing/price-for';
import { PRICE_TABLE, type PriceTable } from '../pricing/price-table';
import type { CostRequest } from '../request';
import { countTextTokens, estimateUsage } from '../tokens/estimate-tokens';
import { usageRecord, usageRecordId } from '../usage/usage-record';

/** Who makes the call and where it belongs: becomes the budget scopes and the usage record's fields. */
export interface CallContext {
  tenant: string;
  agentId: string;
  apiKeyId?: string;
  runId: string;
  attempt?: number;
  callIndex: number;
  sessionId?: string;
  taskId?: string;
  traceId?: string;
}

export interface CallMeterOptions {
  priceTable?: PriceTable;
  /** A crashed replica's reservation is released after this; keep it above the longest call. Default 10 min. */
  reservationTtlMs?: number;
  /** Output tokens reserved up front when the request has no cap, and the step each mid-stream check grows by. Default 1024 / 256. */
  initialOutputTokens?: number;
  checkEveryTokens?: number;
}

export type BeginResult = { kind: 'metered'; call: MeteredCall } | ({ kind: 'refused' } & BudgetExceeded);

/**
 * Meters model calls against the budgets: one reservation per call up front, growing in steps while the
 * stream runs, and exactly one usage record at the end whatever the ending (completed, cut, cancelled,
 * failed). It glues the ledger, the price table and the estimator so callers cannot forget a step.
 */
export class CallMeter {
  constructor(private readonly ledger: BudgetLedger, private readonly options: CallMeterOptions = {}) {}

  /** Reserves the call's estimated cost on every budget of its tenant, agent and key, or says which refuses. */
  async begin(ctx: CallContext, request: CostRequest): Promise<BeginResult> {
    const table = this.options.priceTable ?? PRICE_TABLE;
    const inputTokens = estimateUsage(request, '').inputTokens;
    const outputTokens = Math.min(request.maxOutputTokens ?? Number.POSITIVE_INFINITY, this.options.initialOutputTokens ?? 1024);
    const estimate = priceCall(request.provider, request.model, { inputTokens, outputTokens }, table);
    const reservationId = usageRecordId(ctx.tenant, ctx.runId, ctx.attempt ?? 1, ctx.callIndex);
    const result = await this.ledger.reserve({
      scopes: scopesFor(ctx),
      estimateMicroUsd: estimate.costMicroUsd,
      estimateTokens: inputTokens + outputTokens,
      reservationId,
      ttlMs: this.options.reservationTtlMs ?? 600_000,
    });
    if (result.kind === 'refused') return result;
    const step = this.options.checkEveryTokens ?? 256;
    return { kind: 'metered', call: new MeteredCall(this.ledger, ctx, request, table, reservationId, inputTokens, outputTokens, step) };
  }

  /**
   * A call of a tenant known to have no budgets: no reservation and no mid-stream checks (no Redis at all),
   * still exactly one usage record from `finish`.
   */
  unbudgeted(ctx: CallContext, request: CostRequest): MeteredCall {
    const table = this.options.priceTable ?? PRICE_TABLE;
    const reservationId = usageRecordId(ctx.tenant, ctx.runId, ctx.attempt ?? 1, ctx.callIndex);
    return new MeteredCall(undefined, ctx, request, table, reservationId, 0, Number.POSITIVE_INFINITY, 0);
  }
}

/** One call in flight: feed it the streamed text, then finish it once. */
export class MeteredCall {
  private outputText = '';
  private outputTokens = 0;
  private finished = false;

  constructor(
    /** Absent for an unbudgeted call: then nothing is reserved, checked or settled. */
    private readonly ledger: BudgetLedger | undefined,
    private readonly ctx: CallContext,
    private readonly request: CostRequest,
    private readonly table: PriceTable,
    readonly reservationId: string,
    private readonly inputTokens: number,
    private heldOutputTokens: number,
    private readonly step: number,
  ) {}

  /**
   * Counts a streamed text delta. When the output reaches what is held, grows the reservation by one step;
   * `crossed` means a hard cap is reached: cut the stream, then `finish` with status 'truncated' or 'cancelled'.
   */
  async onOutput(text: string): Promise<MidStreamResult | undefined> {
    this.outputText += text;
    if (!this.ledger) return undefined;
    this.outputTokens += countTextTokens(this.request.model, text);
    if (this.outputTokens < this.heldOutputTokens) return undefined;
    const target = this.outputTokens + this.step;
    const running = priceCall(this.request.provider, this.request.model, { inputTokens: this.inputTokens, outputTokens: target }, this.table);
    const result = await this.ledger.checkMidStream(this.ctx.tenant, this.reservationId, running.costMicroUsd, {
      runningTokens: this.inputTokens + target,
    });
    if (result.kind === 'ok') this.heldOutputTokens = target;
    return result;
  }

  /**
   * Ends the call: the provider's usage when it sent one, else an estimate from the request and the text
   * streamed so far (marked estimated). Settles the reservation at the record's cost and returns the record
   * to publish. Call exactly once.
   */
  async finish(end: { status: UsageStatus; usage?: Usage; timestamp?: Date }): Promise<UsageRecord> {
    if (this.finished) throw new Error(`call ${this.reservationId} was already finished`);
    this.finished = true;
    const counts = end.usage
      ? { inputTokens: end.usage.inputTokens, outputTokens: end.usage.outputTokens, cachedInputTokens: end.usage.cachedInputTokens ?? 0 }
      : estimateUsage(this.request, this.outputText);
    const record = usageRecord({
      ...this.ctx,
      provider: this.request.provider,
      model: this.request.model,
      ...counts,
      status: end.status,
      estimated: !end.usage,
      priceTable: this.table,
      ...(end.timestamp ? { timestamp: end.timestamp } : {}),
    });
    await this.ledger?.settle(this.ctx.tenant, this.reservationId, record.costMicroUsd, record.inputTokens + record.outputTokens);
    return record;
  }

  /** The call never reached the provider (nothing billed): give the reservation back; no usage record. */
  async abandon(): Promise<void> {
    if (this.finished) return;
    this.finished = true;
    await this.ledger?.release(this.ctx.tenant, this.reservationId);
  }
}
