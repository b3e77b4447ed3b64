import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Put, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuditTypes, ErrorCodes, KeelsonError, type BudgetState, Scopes } from '@keelson/contracts';
import { BudgetLedger, BudgetStore, scopeField } from '@keelson/cost';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { GatewayAudit } from '../auditing/gateway-audit';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { BudgetGate } from './budget-gate';
import { budgetAddressFrom, budgetDefinitionFrom } from './budget-request';
import { RateLimitGuard } from './rate-limit.guard';

const SCOPE_ORDER = { tenant: 0, agent: 1, key: 2 } as const;
const WINDOW_ORDER = { day: 0, month: 1, total: 2 } as const;

/** Tenant, then agents, then keys (by id); day, month, total: the order the ledger checks them in. */
export function sortBudgets(states: BudgetState[]): BudgetState[] {
  return [...states].sort(
    (a, b) =>
      SCOPE_ORDER[a.scope] - SCOPE_ORDER[b.scope] ||
      (a.scopeId ?? '').localeCompare(b.scopeId ?? '') ||
      WINDOW_ORDER[a.window] - WINDOW_ORDER[b.window],
  );
}

/**
 * The operator API for budgets, scoped to the caller's tenant: each budget with what is spent, reserved and
 * left in its current window and when that window resets; create or replace one; remove one. A change applies
 * to the next reservation on every replica (the ledger reads the definitions from Redis on each call).
 * Scope `admin`.
 */
@Controller('v1/budgets')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.admin)
@UseInterceptors(TenantContextInterceptor)
export class BudgetsController {
  constructor(
    @Inject(BudgetStore) private readonly store: BudgetStore,
    @Inject(BudgetLedger) private readonly ledger: BudgetLedger,
    @Inject(BudgetGate) private readonly gate: BudgetGate,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  @Get()
  async list(@Tenant() tenant: string): Promise<{ budgets: BudgetState[] }> {
    return { budgets: sortBudgets(await this.ledger.status(tenant)) };
  }

  /** Creates or replaces the budget of one scope and window; what was spent in the current window stays. */
  @Put()
  @HttpCode(200)
  async put(@Tenant() tenant: string, @ApiKeyId() apiKeyId: string, @Body() body: unknown): Promise<BudgetState> {
    const definition = budgetDefinitionFrom(tenant, body);
    await this.store.set(definition);
    this.gate.forget(tenant);
    await this.audit.required({ tenant, type: AuditTypes.adminBudgetSet, apiKeyId, data: { ...definition } });
    const state = (await this.ledger.status(tenant, [definition.scope])).find((s) => s.window === definition.window);
    if (!state) throw new Error(`budget ${scopeField(definition.scope)}|${definition.window} was not found right after it was set`);
    return state;
  }

  @Delete(':scope/:window')
  @HttpCode(204)
  async remove(
    @Tenant() tenant: string,
    @ApiKeyId() apiKeyId: string,
    @Param('scope') scope: string,
    @Param('window') window: string,
    @Query('scopeId') scopeId: string | undefined,
  ): Promise<void> {
    const address = budgetAddressFrom(tenant, scope, window, scopeId);
    const field = scopeField(address.scope);
    const exists = (await this.store.list(tenant)).some((d) => scopeField(d.scope) === field && d.window === address.window);
    if (!exists) {
      const who = address.scope.kind === 'tenant' ? 'the tenant' : `${address.scope.kind} "${scopeId}"`;
      throw new KeelsonError(404, ErrorCodes.notFound, `no ${address.window} budget for ${who}`, 'window');
    }
    await this.store.delete(address.scope, address.window);
    this.gate.forget(tenant);
    await this.audit.required({ tenant, type: AuditTypes.adminBudgetDeleted, apiKeyId, data: { scope: address.scope, window: address.window } });
  }
}
