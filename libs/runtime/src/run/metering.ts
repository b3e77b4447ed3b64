import type { BudgetState, Usage, UsageStatus } from '@keelson/contracts';
import type { ModelRequest } from '../model/provider';

/**
 * Accounting for a run's model calls: budgets reserved before each call and settled after it, and one usage
 * record per call whatever its ending. The agent loop calls it; `@keelson/cost` has the ledger behind it
 * (see usage-meter.ts). Absent, calls are neither limited nor recorded.
 */
export interface ModelCallMetering {
  /** Before a model call: admits it (and holds its estimated cost) or names the budget that refuses it. */
  begin(call: { provider: string; request: ModelRequest; callIndex: number }): Promise<MeteredModelCall | BudgetRefusal>;
}

export interface BudgetRefusal {
  refused: BudgetState;
  message: string;
}

export interface MeteredModelCall {
  /** Each piece of output (text or tool-call arguments); a refusal means a hard cap was crossed: cut the stream. */
  onOutput(text: string): Promise<BudgetRefusal | undefined>;
  /**
   * Exactly once, however the call ended, with the provider's usage when it sent one. Must not throw: a
   * record it could not write is the implementation's to log and recover, never a reason to fail the run.
   */
  finish(end: { status: UsageStatus; usage?: Usage }): Promise<void>;
}

export const isRefusal = (value: MeteredModelCall | BudgetRefusal | undefined): value is BudgetRefusal =>
  value !== undefined && 'refused' in value;
