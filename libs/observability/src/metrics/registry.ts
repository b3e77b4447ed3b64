import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';
import { Metrics, type MetricKey } from './catalogue';

/**
 * The process's metrics, built from the catalogue (catalogue.ts) on first use, so a service exports only
 * what it records and every name, help text and label set is the catalogue's. One registry per process
 * (`metricsRegistry()`); tests make their own with `new MetricsRegistry({ processMetrics: false })`.
 *
 * Label values are bounded here as well as at the call sites: a missing value becomes `unknown`, one longer
 * than MAX_LABEL_LENGTH becomes `other`, and once a metric has MAX_SERIES label sets every new set is
 * folded into one `other` series, so a bug that labels by an id cannot take the scraper down.
 */

export const PROCESS_METRICS_PREFIX = 'keelson_';
/** The content type of the Prometheus text format that `metrics()` produces. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
export const MAX_LABEL_LENGTH = 128;
export const MAX_SERIES = 2_000;
const COLLECT_TIMEOUT_MS = 2_000;

type Spec<K extends MetricKey> = (typeof Metrics)[K];
type KeyOf<T extends 'counter' | 'gauge' | 'histogram'> = { [K in MetricKey]: Spec<K>['type'] extends T ? K : never }[MetricKey];
export type CounterKey = KeyOf<'counter'>;
export type GaugeKey = KeyOf<'gauge'>;
export type HistogramKey = KeyOf<'histogram'>;

/** The labels a metric declares; values are turned into strings and bounded. */
export type MetricLabels<K extends MetricKey> = { [L in Spec<K>['labels'][number]]?: string | number | boolean | undefined };

export interface CounterHandle<K extends CounterKey> {
  inc(labels?: MetricLabels<K>, value?: number): void;
}
export interface GaugeHandle<K extends GaugeKey> {
  set(labels: MetricLabels<K>, value: number): void;
  inc(labels?: MetricLabels<K>, value?: number): void;
  dec(labels?: MetricLabels<K>, value?: number): void;
}
export interface HistogramHandle<K extends HistogramKey> {
  /** `value` in the metric's unit (seconds for durations). */
  observe(labels: MetricLabels<K>, value: number): void;
}

export interface MetricsRegistryOptions {
  /** Node.js process metrics (CPU, memory, event loop, GC) named `keelson_process_*` and `keelson_nodejs_*`; default true. */
  processMetrics?: boolean;
}

type Collector = () => unknown;
type Built = Counter<string> | Gauge<string> | Histogram<string>;

export class MetricsRegistry {
  readonly registry = new Registry();
  readonly contentType = METRICS_CONTENT_TYPE;
  private readonly built = new Map<MetricKey, Built>();
  private readonly series = new Map<MetricKey, Set<string>>();
  private readonly collectors = new Set<Collector>();

  constructor(options: MetricsRegistryOptions = {}) {
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: PROCESS_METRICS_PREFIX });
  }

  /** Labels every series of this registry carries, e.g. `{ service: 'gateway' }`. */
  defaultLabels(labels: Record<string, string>): void {
    this.registry.setDefaultLabels(labels);
  }

  counter<K extends CounterKey>(key: K): CounterHandle<K> {
    const metric = this.build(key) as Counter<string>;
    return { inc: (labels, value = 1) => metric.inc(this.bound(key, labels), value) };
  }

  gauge<K extends GaugeKey>(key: K): GaugeHandle<K> {
    const metric = this.build(key) as Gauge<string>;
    return {
      set: (labels, value) => metric.set(this.bound(key, labels), value),
      inc: (labels, value = 1) => metric.inc(this.bound(key, labels), value),
      dec: (labels, value = 1) => metric.dec(this.bound(key, labels), value),
    };
  }

  histogram<K extends HistogramKey>(key: K): HistogramHandle<K> {
    const metric = this.build(key) as Histogram<string>;
    return { observe: (labels, value) => metric.observe(this.bound(key, labels), value) };
  }

  /** The value of an unlabelled gauge, or undefined while this process never set it (ops stats). */
  async gaugeValue(key: GaugeKey): Promise<number | undefined> {
    const metric = this.built.get(key) as Gauge<string> | undefined;
    return metric ? (await metric.get()).values[0]?.value : undefined;
  }

  /**
   * Runs `collect` before each scrape (e.g. polling consumer info into gauges); a collector that fails or
   * takes longer than 2 s is skipped for that scrape. Returns the function that removes it.
   */
  onCollect(collect: Collector): () => void {
    this.collectors.add(collect);
    return () => this.collectors.delete(collect);
  }

  /** Every metric in the Prometheus text format (METRICS_CONTENT_TYPE). */
  async metrics(): Promise<string> {
    await Promise.all([...this.collectors].map((collect) => withTimeout(collect)));
    return this.registry.metrics();
  }

  /** Clears every recorded value (tests). */
  reset(): void {
    this.registry.resetMetrics();
    this.series.clear();
  }

  private build(key: MetricKey): Built {
    const existing = this.built.get(key);
    if (existing) return existing;
    const spec = Metrics[key];
    const config = { name: spec.name, help: spec.help, labelNames: [...spec.labels], registers: [this.registry] };
    const metric =
      spec.type === 'counter'
        ? new Counter(config)
        : spec.type === 'gauge'
          ? new Gauge(config)
          : new Histogram({ ...config, buckets: [...((spec as { buckets?: readonly number[] }).buckets ?? [])] });
    this.built.set(key, metric);
    return metric;
  }

  private bound(key: MetricKey, labels: Record<string, unknown> | undefined): Record<string, string> {
    const names = Metrics[key].labels as readonly string[];
    const out: Record<string, string> = {};
    for (const name of names) out[name] = labelValue(labels?.[name]);
    if (names.length === 0) return out;
    const seen = this.series.get(key) ?? new Set<string>();
    this.series.set(key, seen);
    const id = names.map((n) => out[n]).join('\u0000');
    if (seen.has(id)) return out;
    if (seen.size >= MAX_SERIES) {
      for (const name of names) out[name] = 'other';
      return out;
    }
    seen.add(id);
    return out;
  }
}

/** A label value: `unknown` when missing, `other` when too long to be one of a bounded set. */
export function labelValue(value: unknown): string {
  if (value === undefined || value === null || value === '') return 'unknown';
  const text = String(value);
  return text.length > MAX_LABEL_LENGTH ? 'other' : text;
}

async function withTimeout(collect: Collector): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      Promise.resolve().then(collect),
      new Promise((resolve) => {
        timer = setTimeout(resolve, COLLECT_TIMEOUT_MS);
        timer.unref();
      }),
    ]);
  } catch {
    // A failed collector leaves its gauges as they were; the scrape goes on.
  } finally {
    clearTimeout(timer);
  }
}

let processRegistry: MetricsRegistry | undefined;

/** This process's registry, created on first use with the process metrics. */
export function metricsRegistry(): MetricsRegistry {
  processRegistry ??= new MetricsRegistry();
  return processRegistry;
}

/** The seconds since `startNs` (from `process.hrtime.bigint()`), for histograms. */
export function secondsSince(startNs: bigint): number {
  return Number(process.hrtime.bigint() - startNs) / 1e9;
}
