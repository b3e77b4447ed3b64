import { LuaScript, type RedisScripting } from '@keelson/state';
import { CHECK_MID_STREAM, RELEASE, RESERVE, SETTLE, STATUS } from './budget-scripts';
import { budgetKeys, parseScopeField, scopeField, type BudgetExceeded, type BudgetScope, type BudgetState, type BudgetWindow } from './budget-types';

export interface BudgetLedgerOptions {
  /** Default `keelson:budget`; must match the BudgetStore's. */
  keyPrefix?: string;
}

export interface ReserveRequest {
  /** Every scope the call counts against (see `scopesFor`); all of one tenant. */
  scopes: BudgetScope[];
  /** The most the call may cost (input known, output at its cap): see `estimateCallCost`. */
  estimateMicroUsd: number;
  /** Tokens reserved against token caps; default 0. */
  estimateTokens?: number;
  /** Unique per call, and the handle for settle/release/checkMidStream. */
  reservationId: string;
  /** After this long a reservation nobody settled (a crashed replica) is released by the next script run. */
  ttlMs: number;
}

export type ReserveResult =
  | { kind: 'reserved'; expiresAt: string }
  /** The id was reserved before: nothing was added (a retried call). */
  | { kind: 'exists'; state: ReservationState }
  | ({ kind: 'refused' } & BudgetExceeded);

export type ReservationState = 'held' | 'expired' | 'settled' | 'released';

export type SettleResult =
  | { kind: 'settled' }
  /** The reservation had expired (already released); the spend was recorded anyway. */
  | { kind: 'settled_late' }
  | { kind: 'already'; state: ReservationState }
  | { kind: 'unknown' };

export type MidStreamResult =
  | { kind: 'ok'; heldMicroUsd: number }
  /** The running cost does not fit: cut the stream, then settle what was really used. */
  | ({ kind: 'crossed' } & BudgetExceeded)
  | { kind: 'not_held'; state: ReservationState | 'unknown' };

const scripts = {
  reserve: new LuaScript(RESERVE),
  settle: new LuaScript(SETTLE),
  release: new LuaScript(RELEASE),
  check: new LuaScript(CHECK_MID_STREAM),
  status: new LuaScript(STATUS),
};

/** One budget from the scripts' flat form {field, limit, tokenLimit, s, r, st, rt, resetsAt}. */
function toState(tenant: string, raw: unknown[]): BudgetState {
  const [field, limit, tokenLimit, s, r, st, rt, resetsAt] = raw.map((v, i) => (i === 0 ? v : Number(v))) as [string, ...number[]];
  const bar = field.lastIndexOf('|');
  const scope = parseScopeField(tenant, field.slice(0, bar));
  return {
    scope: scope.kind,
    ...(scope.kind === 'agent' ? { scopeId: scope.agentId } : scope.kind === 'key' ? { scopeId: scope.apiKeyId } : {}),
    window: field.slice(bar + 1) as BudgetWindow,
    limitMicroUsd: limit!,
    spentMicroUsd: s!,
    reservedMicroUsd: r!,
    remainingMicroUsd: Math.max(0, limit! - s! - r!),
    ...(resetsAt! > 0 ? { resetsAt: new Date(resetsAt!).toISOString() } : {}),
    ...(tokenLimit! >= 0 ? { tokenLimit: tokenLimit! } : {}),
    spentTokens: st!,
    reservedTokens: rt!,
  };
}

const exceeded = (tenant: string, raw: unknown[]): BudgetExceeded => ({ exceeded: raw[1] as 'cost' | 'tokens', budget: toState(tenant, raw.slice(2)) });

/**
 * Budgets enforced in Redis, so every replica of every service draws on the same counters: reserve before a
 * call, settle with the real cost after, release on failure. Each step is one Lua script, atomic across
 * replicas; N replicas can never reserve N times a cap.
 */
export class BudgetLedger {
  private readonly prefix: string;

  constructor(private readonly redis: RedisScripting, options: BudgetLedgerOptions = {}) {
    this.prefix = options.keyPrefix ?? 'keelson:budget';
  }

  private keys(tenant: string, reservationId: string): string[] {
    const k = budgetKeys(this.prefix, tenant);
    return [k.definitions, k.expiry, k.reservation(reservationId)];
  }

  /** Reserves the estimate on every budget of every scope at once, or refuses naming the first that is short. */
  async reserve(req: ReserveRequest): Promise<ReserveResult> {
    const tenant = oneTenant(req.scopes);
    const args = [budgetKeys(this.prefix, tenant).base, int(req.ttlMs), int(req.estimateMicroUsd), int(req.estimateTokens ?? 0), req.reservationId];
    const raw = (await scripts.reserve.run(this.redis, this.keys(tenant, req.reservationId), [...args, ...req.scopes.map(scopeField)])) as unknown[];
    if (raw[0] === 'ok') return { kind: 'reserved', expiresAt: new Date(Number(raw[1])).toISOString() };
    if (raw[0] === 'exists') return { kind: 'exists', state: raw[1] as ReservationState };
    return { kind: 'refused', ...exceeded(tenant, raw) };
  }

  /** Turns a reservation into spend at the actual cost, even above the estimate: what was used is recorded. */
  async settle(tenant: string, reservationId: string, actualMicroUsd: number, actualTokens = 0): Promise<SettleResult> {
    const args = [budgetKeys(this.prefix, tenant).base, int(actualMicroUsd), int(actualTokens), reservationId];
    const raw = (await scripts.settle.run(this.redis, this.keys(tenant, reservationId), args)) as string[];
    if (raw[0] === 'already') return { kind: 'already', state: raw[1] as ReservationState };
    return { kind: raw[0] as 'settled' | 'settled_late' | 'unknown' };
  }

  /** Gives a reservation back unspent: the call failed before the provider billed anything. */
  async release(tenant: string, reservationId: string): Promise<{ kind: 'released' } | { kind: 'already'; state: ReservationState } | { kind: 'unknown' }> {
    const raw = (await scripts.release.run(this.redis, this.keys(tenant, reservationId), [budgetKeys(this.prefix, tenant).base, reservationId])) as string[];
    if (raw[0] === 'already') return { kind: 'already', state: raw[1] as ReservationState };
    return { kind: raw[0] as 'released' | 'unknown' };
  }

  /**
   * While a stream runs: grows the reservation to `runningMicroUsd` if every budget has room, else reports the
   * cap as crossed so the caller cuts the stream. Pass the running cost plus some headroom (e.g. the next
   * 256 output tokens) to call this every few hundred tokens rather than on every token.
   */
  async checkMidStream(
    tenant: string,
    reservationId: string,
    runningMicroUsd: number,
    opts: { runningTokens?: number; extendTtlMs?: number } = {},
  ): Promise<MidStreamResult> {
    const args = [budgetKeys(this.prefix, tenant).base, int(runningMicroUsd), int(opts.runningTokens ?? 0), opts.extendTtlMs ?? 0, reservationId];
    const raw = (await scripts.check.run(this.redis, this.keys(tenant, reservationId), args)) as unknown[];
    if (raw[0] === 'ok') return { kind: 'ok', heldMicroUsd: Number(raw[1]) };
    if (raw[0] === 'not_held') return { kind: 'not_held', state: raw[1] as ReservationState | 'unknown' };
    return { kind: 'crossed', ...exceeded(tenant, raw) };
  }

  /** Each budget of the tenant (or only of the given scopes) in its current window: spent, reserved, remaining, reset. */
  async status(tenant: string, scopes?: BudgetScope[]): Promise<BudgetState[]> {
    const args = [budgetKeys(this.prefix, tenant).base, ...(scopes ?? []).map(scopeField)];
    const raw = (await scripts.status.run(this.redis, this.keys(tenant, '-'), args)) as unknown[];
    const out: BudgetState[] = [];
    for (let i = 0; i < raw.length; i += 8) out.push(toState(tenant, raw.slice(i, i + 8)));
    return out;
  }
}

function oneTenant(scopes: BudgetScope[]): string {
  const tenant = scopes[0]?.tenant;
  if (!tenant) throw new Error('reserve needs at least one scope');
  if (scopes.some((s) => s.tenant !== tenant)) throw new Error('all scopes of a reservation must belong to one tenant');
  return tenant;
}

function int(n: number): number {
  if (!Number.isSafeInteger(n) || n < 0) throw new Error(`expected a non-negative integer, got ${n}`);
  return n;
}
