import { AGENT_ID_PATTERN, ErrorCodes, KeelsonError, parseOrThrow } from '@keelson/contracts';
import type { BudgetDefinition, BudgetScope, BudgetWindow } from '@keelson/cost';
import { z } from 'zod';

const SCOPES = ['tenant', 'agent', 'key'] as const;
const WINDOWS = ['day', 'month', 'total'] as const;
/** The largest limit whose micro-USD value is still an exact integer in a double. */
const MAX_LIMIT_USD = 1_000_000_000;

/** `PUT /v1/budgets`: one budget of one scope and window; limits in USD, stored as integer micro-USD. */
export const PutBudgetRequestSchema = z
  .strictObject({
    scope: z.enum(SCOPES, { error: 'expected tenant, agent or key' }),
    scopeId: z.string().min(1).max(128).optional(),
    window: z.enum(WINDOWS, { error: 'expected day, month or total' }),
    limitUsd: z
      .number({ error: 'expected a number of USD' })
      .min(0, 'must be 0 or more')
      .max(MAX_LIMIT_USD, `must be at most ${MAX_LIMIT_USD}`),
    tokenLimit: z.number().int('expected a whole number of tokens').min(0, 'must be 0 or more').max(Number.MAX_SAFE_INTEGER).optional(),
  })
  .superRefine((body, ctx) => scopeIdProblems(body.scope, body.scopeId).forEach((message) => ctx.addIssue({ code: 'custom', path: ['scopeId'], message })));
export type PutBudgetRequest = z.infer<typeof PutBudgetRequestSchema>;

function scopeIdProblems(scope: (typeof SCOPES)[number], scopeId: string | undefined): string[] {
  if (scope === 'tenant') return scopeId === undefined ? [] : ['leave it out for the tenant scope'];
  if (scopeId === undefined) return [`required for the ${scope} scope (the ${scope === 'agent' ? 'agent id' : 'API key id'})`];
  if (scope === 'agent' && !AGENT_ID_PATTERN.test(scopeId)) return ['not an agent id'];
  return [];
}

/** USD to integer micro-USD, rounded to the nearest micro-dollar (0.1 USD is 100000, not 100000.00000000001). */
export const usdToMicro = (usd: number): number => Math.round(usd * 1_000_000);

function scopeOf(tenant: string, scope: (typeof SCOPES)[number], scopeId: string | undefined): BudgetScope {
  if (scope === 'agent') return { kind: 'agent', tenant, agentId: scopeId! };
  if (scope === 'key') return { kind: 'key', tenant, apiKeyId: scopeId! };
  return { kind: 'tenant', tenant };
}

/** Validates a PUT body (400 naming the field) and turns it into the tenant's budget definition. */
export function budgetDefinitionFrom(tenant: string, body: unknown): BudgetDefinition {
  const request = parseOrThrow(PutBudgetRequestSchema, body);
  return {
    scope: scopeOf(tenant, request.scope, request.scopeId),
    window: request.window,
    limitMicroUsd: usdToMicro(request.limitUsd),
    ...(request.tokenLimit !== undefined ? { tokenLimit: request.tokenLimit } : {}),
  };
}

/** The path and query of `DELETE /v1/budgets/{scope}/{window}?scopeId=`, checked the same way (400 naming the field). */
export function budgetAddressFrom(tenant: string, scope: string, window: string, scopeId: string | undefined): { scope: BudgetScope; window: BudgetWindow } {
  if (!(SCOPES as readonly string[]).includes(scope)) throw invalid('scope', 'expected tenant, agent or key');
  if (!(WINDOWS as readonly string[]).includes(window)) throw invalid('window', 'expected day, month or total');
  const given = scopeId === '' ? undefined : scopeId;
  const problem = scopeIdProblems(scope as (typeof SCOPES)[number], given)[0];
  if (problem) throw invalid('scopeId', problem);
  if (given !== undefined && given.length > 128) throw invalid('scopeId', 'at most 128 characters');
  return { scope: scopeOf(tenant, scope as (typeof SCOPES)[number], given), window: window as BudgetWindow };
}

const invalid = (field: string, message: string) =>
  new KeelsonError(400, ErrorCodes.validationFailed, `${field}: ${message}`, field, [{ field, message }]);
