import type { BudgetState } from '@keelson/contracts';

/** Why a run failed, stable and safe to switch on (a service maps them to its own error codes). */
export type RunErrorCode = 'timeout' | 'model_error' | 'provider_not_found' | 'max_steps' | 'budget_exceeded' | 'input_blocked';

export class RunError extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
    options?: { cause?: unknown; budget?: BudgetState },
  ) {
    super(message, options);
    this.name = 'RunError';
    this.budget = options?.budget;
  }

  /** With budget_exceeded: the budget that refused the call or cut its stream. */
  readonly budget?: BudgetState;
}
