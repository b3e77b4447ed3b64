/** The finest resolution the dashboard windows keep, and how far back they reach. */
export const BUCKET_MS = 5_000;
export const MAX_WINDOW_MS = 60 * 60_000;

/**
 * Cells keyed by string per BUCKET_MS time bucket, for the last MAX_WINDOW_MS. Buckets older than the window
 * are dropped on write; a bucket holds at most `maxKeys` keys, later ones fold into `overflowKey`, so a flood
 * of tenants or models cannot grow memory without bound.
 */
export class TimeBuckets<C> {
  private readonly buckets = new Map<number, Map<string, C>>();

  constructor(
    private readonly newCell: () => C,
    private readonly maxKeys = 500,
    private readonly overflowKey = 'other',
  ) {}

  cell(at: number, key: string): C {
    const start = at - (at % BUCKET_MS);
    let bucket = this.buckets.get(start);
    if (!bucket) {
      this.prune(start);
      bucket = new Map();
      this.buckets.set(start, bucket);
    }
    const k = bucket.has(key) || bucket.size < this.maxKeys ? key : this.overflowKey;
    let cell = bucket.get(k);
    if (!cell) {
      cell = this.newCell();
      bucket.set(k, cell);
    }
    return cell;
  }

  /** Each bucket in [from, to) with its cells, oldest first. */
  *range(from: number, to: number): Iterable<[start: number, cells: Map<string, C>]> {
    for (const start of [...this.buckets.keys()].sort((a, b) => a - b)) {
      if (start + BUCKET_MS > from && start < to) yield [start, this.buckets.get(start)!];
    }
  }

  private prune(newest: number): void {
    for (const start of this.buckets.keys()) if (start <= newest - MAX_WINDOW_MS) this.buckets.delete(start);
  }
}

/** The start of each step of `stepMs` covering [from, to). */
export function steps(from: number, to: number, stepMs: number): number[] {
  const out: number[] = [];
  for (let t = from - (from % stepMs); t < to; t += stepMs) out.push(t);
  return out;
}
