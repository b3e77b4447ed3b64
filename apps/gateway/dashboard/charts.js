// The overview's charts (Chart.js 4 from /dashboard/vendor/chart.umd.js, loaded before this module as
// window.Chart). Each chart is created once and its data replaced on every poll; the instances are exposed
// as window.keelsonCharts for the tests.

import { clock } from './util.js';

const { Chart } = window;
const PALETTE = ['#2563eb', '#059669', '#d97706', '#7c3aed', '#db2777', '#0891b2', '#65a30d', '#dc2626', '#475569'];
const MODEL_COLOURS = { stateless: '#2563eb', session: '#059669', task: '#d97706', other: '#64748b' };

Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
Chart.defaults.color = '#475569';
Chart.defaults.borderColor = '#e2e8f0';
Chart.defaults.animation = false;
Chart.defaults.maintainAspectRatio = false;
Chart.defaults.plugins.legend.labels.boxWidth = 12;

export const charts = {};
window.keelsonCharts = charts;

function lineOptions(yTitle, { stacked = false, percent = false } = {}) {
  return {
    interaction: { mode: 'index', intersect: false },
    spanGaps: true,
    scales: {
      x: { stacked, ticks: { maxTicksLimit: 8, maxRotation: 0 } },
      y: {
        stacked,
        beginAtZero: true,
        title: { display: true, text: yTitle },
        ticks: percent ? { callback: (v) => `${v}%` } : {},
      },
    },
    plugins: { legend: { position: 'bottom' } },
  };
}

function create(name, type, options) {
  const canvas = document.getElementById(`chart-${name}`);
  charts[name] = new Chart(canvas, { type, data: { labels: [], datasets: [] }, options });
  return charts[name];
}

export function createCharts() {
  create('throughput', 'line', lineOptions('requests / s'));
  create('latency', 'line', lineOptions('milliseconds'));
  create('errors', 'line', lineOptions('% of requests', { percent: true }));
  create('spend', 'bar', lineOptions('USD', { stacked: true }));
  create('queues', 'bar', {
    indexAxis: 'y',
    scales: { x: { beginAtZero: true, title: { display: true, text: 'messages' }, ticks: { precision: 0 } } },
    plugins: { legend: { position: 'bottom' } },
  });
}

/** Replaces a chart's data, keeping a series the operator hid in the legend hidden. */
function setData(chart, labels, datasets) {
  const hidden = new Set(chart.data.datasets.filter((d, i) => !chart.isDatasetVisible(i)).map((d) => d.label));
  chart.data.labels = labels;
  chart.data.datasets = datasets.map((d) => ({ ...d, hidden: hidden.has(d.label) }));
  chart.update('none');
}

function line(label, data, colour, extra = {}) {
  return { label, data, borderColor: colour, backgroundColor: colour, borderWidth: 2, pointRadius: 0, pointHitRadius: 6, cubicInterpolationMode: 'monotone', ...extra };
}

/** Every bucket start of the series, in order. */
function bucketTimes(seriesList) {
  const times = new Set();
  for (const series of seriesList) for (const p of series.points) times.add(p.t);
  return [...times].sort();
}

export function renderTraffic(overview, latencyModel) {
  const times = bucketTimes(overview.traffic);
  const labels = times.map(clock);
  const at = (series) => new Map(series.points.map((p) => [p.t, p]));
  const perSecond = overview.bucketSeconds;

  setData(
    charts.throughput,
    labels,
    overview.traffic.map((series) => {
      const byTime = at(series);
      const colour = MODEL_COLOURS[series.executionModel] ?? PALETTE[0];
      return line(series.executionModel, times.map((t) => round((byTime.get(t)?.requests ?? 0) / perSecond, 3)), colour);
    }),
  );

  const chosen = overview.traffic.find((s) => s.executionModel === latencyModel);
  const byTime = chosen ? at(chosen) : new Map();
  const pct = (key) => times.map((t) => (byTime.get(t)?.[key] === undefined ? null : round(byTime.get(t)[key], 1)));
  setData(charts.latency, labels, [
    line('p50', pct('p50Ms'), '#059669'),
    line('p95', pct('p95Ms'), '#d97706'),
    line('p99', pct('p99Ms'), '#dc2626'),
  ]);

  const totals = times.map((t) => {
    const sum = { requests: 0, errors: 0, clientErrors: 0 };
    for (const series of overview.traffic) {
      const p = series.points.find((q) => q.t === t);
      if (p) for (const k of Object.keys(sum)) sum[k] += p[k];
    }
    return sum;
  });
  const rate = (key) => totals.map((s) => (s.requests ? round((100 * s[key]) / s.requests, 2) : null));
  setData(charts.errors, labels, [
    line('5xx (ours)', rate('errors'), '#dc2626', { fill: false }),
    line('4xx (callers)', rate('clientErrors'), '#d97706', { borderDash: [4, 3] }),
  ]);
}

/** Spend per tenant and model as stacked bars; tokens instead when nothing in the window had a price. */
export function renderSpend(overview) {
  const priced = overview.spend.some((s) => s.totalMicroUsd > 0);
  const times = bucketTimes(overview.spend);
  const datasets = overview.spend.map((series, i) => {
    const byTime = new Map(series.points.map((p) => [p.t, p]));
    const value = (p) => (priced ? (p?.costMicroUsd ?? 0) / 1_000_000 : (p?.tokens ?? 0));
    const colour = PALETTE[i % PALETTE.length];
    return { label: `${series.tenant} · ${series.model}`, data: times.map((t) => value(byTime.get(t))), backgroundColor: colour, borderColor: colour, stack: 'spend' };
  });
  charts.spend.options.scales.y.title.text = priced ? 'USD' : 'tokens (unpriced models)';
  setData(charts.spend, times.map(clock), datasets);
  return priced;
}

export function renderQueues(overview) {
  const queues = overview.queues;
  const box = charts.queues.canvas.parentElement;
  box.style.height = `${Math.max(160, 60 + queues.length * 34)}px`;
  setData(
    charts.queues,
    queues.map((q) => `${q.stream} / ${q.consumer}`),
    [
      { label: 'pending', data: queues.map((q) => q.pending), backgroundColor: '#2563eb' },
      { label: 'ack pending', data: queues.map((q) => q.ackPending), backgroundColor: '#d97706' },
    ],
  );
}

function round(n, digits) {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}
