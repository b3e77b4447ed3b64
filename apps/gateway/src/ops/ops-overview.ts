import { AuditTypes, Consumers, type AuditRecord, type BudgetState, type OpsOverview, type RecentFailure } from '@keelson/contracts';
import type { NatsConnection } from 'nats';
import { gatherReplicaStats } from './replica-stats';
import type { SpendWindow } from './spend-window';
import { BUCKET_MS } from './time-buckets';
import type { TrafficWindow } from './traffic-window';

/** Points per chart: the window is cut into this many steps (at least BUCKET_MS each). */
const POINTS = 60;
/** An operator's view looks at this many tenants at most for budgets and failures. */
const MAX_TENANTS = 20;
const MAX_FAILURES = 30;

export interface OverviewSources {
  nats: NatsConnection;
  traffic: TrafficWindow;
  spend: SpendWindow;
  budgets: (tenant: string) => Promise<BudgetState[]>;
  failedRuns: (tenant: string, from: Date) => Promise<AuditRecord[]>;
  /** Tenants that have API keys, for an operator's view. */
  knownTenants: () => string[];
  operatorTenants: readonly string[];
  traceUrlTemplate?: string | undefined;
}

/**
 * Builds the dashboard's OpsOverview for a caller: the caller's own tenant, or every tenant for an operator
 * tenant, plus (operators only) queues, replicas and activity. A source that fails leaves its part empty and
 * says so in `warnings`; the rest is still drawn.
 */
export class OpsOverviewBuilder {
  constructor(private readonly sources: OverviewSources) {}

  async build(tenant: string, windowSeconds: number, now = Date.now()): Promise<OpsOverview> {
    const { traffic, spend } = this.sources;
    const operator = this.sources.operatorTenants.includes(tenant);
    const from = now - windowSeconds * 1000;
    const stepMs = Math.max(BUCKET_MS, Math.ceil((windowSeconds * 1000) / POINTS / BUCKET_MS) * BUCKET_MS);
    const filter = operator ? undefined : new Set([tenant]);
    const tenants = operator ? this.operatorTenants(tenant) : [tenant];
    const warnings: string[] = [];

    const [budgets, failures, queues, replicas] = await Promise.all([
      this.budgetBurn(tenants, from, now, warnings),
      this.failures(tenants, new Date(from), warnings),
      operator ? this.queues(warnings) : Promise.resolve([]),
      operator ? gatherReplicaStats(this.sources.nats) : Promise.resolve([]),
    ]);
    const sum = (pick: (r: (typeof replicas)[number]) => number | undefined) => replicas.reduce((n, r) => n + (pick(r) ?? 0), 0);
    return {
      generatedAt: new Date(now).toISOString(),
      windowSeconds,
      bucketSeconds: stepMs / 1000,
      tenants: operator ? 'all' : [tenant],
      traffic: traffic.series(from, now, stepMs, filter),
      spend: spend.series(from, now, stepMs, filter),
      budgets,
      queues,
      replicas,
      ...(operator
        ? { activity: { sessionsActive: sum((r) => r.sessionsActive), turnsRunning: sum((r) => r.turnsRunning), taskRunsRunning: sum((r) => r.taskRunsRunning) } }
        : {}),
      failures,
      warnings,
    };
  }

  private operatorTenants(own: string): string[] {
    const all = new Set([own, ...this.sources.knownTenants(), ...this.sources.spend.tenants(), ...this.sources.traffic.tenants()]);
    return [...all].slice(0, MAX_TENANTS);
  }

  private async budgetBurn(tenants: string[], from: number, now: number, warnings: string[]): Promise<OpsOverview['budgets']> {
    const hours = (now - from) / 3_600_000;
    const perTenant = await Promise.all(
      tenants.map(async (tenant) => {
        try {
          return (await this.sources.budgets(tenant)).map((budget) => {
            const burn = this.sources.spend.spent({ tenant, scope: budget.scope, scopeId: budget.scopeId }, from, now) / hours;
            const exhaustedAt = exhaustion(budget, burn, now);
            return { tenant, budget, burnMicroUsdPerHour: Math.round(burn), ...(exhaustedAt ? { exhaustedAt } : {}) };
          });
        } catch (err) {
          warnings.push(`budgets of ${tenant}: ${message(err)}`);
          return [];
        }
      }),
    );
    return perTenant.flat();
  }

  private async failures(tenants: string[], from: Date, warnings: string[]): Promise<RecentFailure[]> {
    const perTenant = await Promise.all(
      tenants.map(async (tenant) => {
        try {
          return (await this.sources.failedRuns(tenant, from)).map((record) => this.failure(record));
        } catch (err) {
          warnings.push(`failures of ${tenant}: ${message(err)}`);
          return [];
        }
      }),
    );
    // A retried task fails once per attempt: one line per run, the newest attempt, with the count.
    const byRun = new Map<string, RecentFailure>();
    for (const failure of perTenant.flat()) {
      const key = `${failure.tenant}\u0000${failure.runId ?? failure.at}`;
      const seen = byRun.get(key);
      if (!seen) byRun.set(key, failure);
      else byRun.set(key, { ...(failure.at > seen.at ? failure : seen), attempts: seen.attempts + 1 });
    }
    return [...byRun.values()].sort((a, b) => b.at.localeCompare(a.at)).slice(0, MAX_FAILURES);
  }

  private failure(record: AuditRecord): RecentFailure {
    const { tenant, traceId, taskId, sessionId, runId } = record;
    const auditFilter = traceId ? `traceId=${traceId}` : runId ? `runId=${encodeURIComponent(runId)}` : `type=${AuditTypes.runFailed}`;
    const run = taskId ? `taskId=${taskId}` : sessionId ? `sessionId=${sessionId}` : undefined;
    const template = this.sources.traceUrlTemplate;
    return {
      at: record.time,
      tenant,
      type: record.type,
      ...(record.agentId ? { agentId: record.agentId } : {}),
      ...(runId ? { runId } : {}),
      ...(taskId ? { taskId } : {}),
      ...(sessionId ? { sessionId } : {}),
      ...(traceId ? { traceId } : {}),
      message: failureMessage(record.data),
      attempts: 1,
      links: {
        audit: `/v1/audit/events?${auditFilter}`,
        ...(template && traceId ? { trace: template.replace('{traceId}', traceId) } : {}),
        ...(run ? { run: `/v1/ops/runs?tenant=${tenant}&${run}` } : {}),
      },
    };
  }

  private async queues(warnings: string[]): Promise<OpsOverview['queues']> {
    try {
      const jsm = await this.sources.nats.jetstreamManager();
      const infos = await Promise.all(
        Object.values(Consumers).map((c) => jsm.consumers.info(c.stream, c.durable).catch(() => undefined)),
      );
      return infos.flatMap((info) =>
        info
          ? [{ stream: info.stream_name, consumer: info.name, pending: info.num_pending, ackPending: info.num_ack_pending, redelivered: info.num_redelivered }]
          : [],
      );
    } catch (err) {
      warnings.push(`queues: ${message(err)}`);
      return [];
    }
  }
}

/** When the budget runs out at `burnPerHour`, if that is before its window resets. */
function exhaustion(budget: BudgetState, burnPerHour: number, now: number): string | undefined {
  if (burnPerHour <= 0) return undefined;
  const at = now + (budget.remainingMicroUsd / burnPerHour) * 3_600_000;
  if (budget.resetsAt && at >= Date.parse(budget.resetsAt)) return undefined;
  return new Date(at).toISOString();
}

function failureMessage(data: Record<string, unknown>): string {
  const error = data['error'] as { message?: unknown; code?: unknown } | undefined;
  const text = data['message'] ?? error?.message ?? data['code'] ?? error?.code;
  return typeof text === 'string' && text ? text.slice(0, 500) : 'the run failed';
}

const message = (err: unknown) => (err instanceof Error ? err.message : String(err));
