import type { TrafficPoint } from '@keelson/contracts';
import { TimeBuckets, steps } from './time-buckets';

export type ExecutionModel = 'stateless' | 'session' | 'task' | 'other';
const MODELS: readonly ExecutionModel[] = ['stateless', 'session', 'task', 'other'];

/** Latency bucket upper bounds in ms: x1.25 from 0.1 ms to about 2 minutes, so a percentile is within ~12%. */
export const LATENCY_BOUNDS_MS: readonly number[] = (() => {
  const bounds: number[] = [];
  for (let b = 0.1; b < 150_000; b *= 1.25) bounds.push(b);
  return bounds;
})();

interface Cell {
  requests: number;
  errors: number;
  clientErrors: number;
  latency: Uint32Array;
}

export interface TrafficSample {
  at: number;
  /** Absent for requests that never authenticated (401s). */
  tenant: string | undefined;
  executionModel: ExecutionModel;
  status: number;
  durationMs: number;
}

/**
 * This gateway replica's requests, bucketed in time per tenant and execution model, with a log-scale latency
 * histogram per cell: what the dashboard draws throughput, percentiles and error rate from without a
 * Prometheus server. Several gateway replicas each see their own share (docs/operations.md).
 */
export class TrafficWindow {
  private readonly cells = new TimeBuckets<Cell>(() => ({ requests: 0, errors: 0, clientErrors: 0, latency: new Uint32Array(LATENCY_BOUNDS_MS.length + 1) }));
  private readonly seen = new Set<string>();

  record(sample: TrafficSample): void {
    const tenant = sample.tenant ?? '-';
    const cell = this.cells.cell(sample.at, `${tenant}\u0000${sample.executionModel}`);
    cell.requests++;
    if (sample.status >= 500) cell.errors++;
    else if (sample.status >= 400) cell.clientErrors++;
    cell.latency[latencyBucket(sample.durationMs)]!++;
    if (sample.tenant && this.seen.size < 10_000) this.seen.add(sample.tenant);
  }

  /** Tenants that made an authenticated request since this replica started. */
  tenants(): string[] {
    return [...this.seen];
  }

  /** One series per execution model, `stepMs` apart over [from, to); `tenants` undefined means all. */
  series(from: number, to: number, stepMs: number, tenants?: ReadonlySet<string>): Array<{ executionModel: ExecutionModel; points: TrafficPoint[] }> {
    const starts = steps(from, to, stepMs);
    const merged = new Map<ExecutionModel, Cell[]>(MODELS.map((m) => [m, starts.map(() => ({ requests: 0, errors: 0, clientErrors: 0, latency: new Uint32Array(LATENCY_BOUNDS_MS.length + 1) }))]));
    for (const [start, cells] of this.cells.range(starts[0] ?? from, to)) {
      const i = Math.floor((start - starts[0]!) / stepMs);
      if (i < 0 || i >= starts.length) continue;
      for (const [key, cell] of cells) {
        const [tenant, model] = key.split('\u0000') as [string, ExecutionModel | undefined];
        if (tenants && !tenants.has(tenant)) continue;
        const into = merged.get(model ?? 'other')![i]!;
        into.requests += cell.requests;
        into.errors += cell.errors;
        into.clientErrors += cell.clientErrors;
        for (let b = 0; b < cell.latency.length; b++) into.latency[b]! += cell.latency[b]!;
      }
    }
    return MODELS.map((executionModel) => ({
      executionModel,
      points: merged.get(executionModel)!.map((cell, i) => ({
        t: new Date(starts[i]!).toISOString(),
        requests: cell.requests,
        errors: cell.errors,
        clientErrors: cell.clientErrors,
        ...percentiles(cell),
      })),
    }));
  }
}

function latencyBucket(ms: number): number {
  let lo = 0;
  let hi = LATENCY_BOUNDS_MS.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (ms <= LATENCY_BOUNDS_MS[mid]!) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

function percentiles(cell: Cell): Pick<TrafficPoint, 'p50Ms' | 'p95Ms' | 'p99Ms'> {
  if (cell.requests === 0) return {};
  return { p50Ms: quantile(cell.latency, cell.requests, 0.5), p95Ms: quantile(cell.latency, cell.requests, 0.95), p99Ms: quantile(cell.latency, cell.requests, 0.99) };
}

/** Linear within the bucket the quantile falls in, between its lower and upper bound. */
export function quantile(counts: Uint32Array, total: number, q: number): number {
  const rank = q * total;
  let below = 0;
  for (let b = 0; b < counts.length; b++) {
    const n = counts[b]!;
    if (n > 0 && below + n >= rank) {
      const lower = b === 0 ? 0 : LATENCY_BOUNDS_MS[b - 1]!;
      const upper = LATENCY_BOUNDS_MS[b] ?? lower * 1.25;
      return round(lower + ((rank - below) / n) * (upper - lower));
    }
    below += n;
  }
  return round(LATENCY_BOUNDS_MS.at(-1)!);
}

const round = (ms: number) => Math.round(ms * 1000) / 1000;
