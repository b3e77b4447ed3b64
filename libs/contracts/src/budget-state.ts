import { z } from 'zod';

/** One budget as operators see it (`GET /v1/budgets`) and as a refusal names it (402/429 body). */
export const BudgetStateSchema = z.object({
  scope: z.enum(['tenant', 'agent', 'key']),
  /** The agent id or API key id; absent for the tenant scope. */
  scopeId: z.string().optional(),
  window: z.enum(['day', 'month', 'total']),
  limitMicroUsd: z.number().int().nonnegative(),
  spentMicroUsd: z.number().int().nonnegative(),
  reservedMicroUsd: z.number().int().nonnegative(),
  remainingMicroUsd: z.number().int().nonnegative(),
  /** When the window starts over (ISO 8601 UTC); absent for `total`. */
  resetsAt: z.iso.datetime().optional(),
  /** The optional token cap of the same budget, and its counters (kept whether or not there is a cap). */
  tokenLimit: z.number().int().nonnegative().optional(),
  spentTokens: z.number().int().nonnegative(),
  reservedTokens: z.number().int().nonnegative(),
});
export type BudgetState = z.infer<typeof BudgetStateSchema>;
