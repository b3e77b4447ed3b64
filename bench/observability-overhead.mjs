#!/usr/bin/env node
// What tracing costs on the stateless path: invokes through the gateway (HTTP, NATS request-reply to a
// session-agent, the offline model) with the OpenTelemetry SDK off, on without an exporter, and on exporting
// every span (or 10% of traces) over OTLP/HTTP to a local receiver, one mesh per mode, in the same run on the same
// nats-server and redis-server. Metrics are always on (prom-client counters; there is no switch), so each
// mode includes them. Bounded in time; stops everything it started. See docs/benchmarks.md.
//
//   node bench/observability-overhead.mjs [--seconds 10] [--concurrency 16] [--warmup 300]
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postLoad } from './lib/http-load.mjs';
import { benchKeys, startInfra, startServices } from './lib/mesh.mjs';
import { latencySummary, rate, round } from './lib/stats.mjs';
import { startOtlpReceiver } from '../libs/testing/dist/index.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const SECONDS = opt('seconds', 10);
const CONCURRENCY = opt('concurrency', 16);
const WARMUP = opt('warmup', 300);
const TENANT = 'bench-obs';
const keys = benchKeys([TENANT]);

const infra = await startInfra();
const receiver = await startOtlpReceiver();
const modes = [
  { name: 'tracing off (OTEL_SDK_DISABLED)', env: { OTEL_SDK_DISABLED: 'true' } },
  { name: 'tracing on, no exporter', env: {} },
  { name: 'tracing on, OTLP export', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url } },
  { name: 'OTLP export, 10% sampled', env: { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url, OTEL_TRACES_SAMPLER_ARG: '0.1' } },
];
const results = [];
const guard = setTimeout(() => {
  console.error('observability-overhead: over its time limit; stopping');
  process.exit(1);
}, (SECONDS + 60) * modes.length * 1000).unref();
try {
  for (const mode of modes) {
    const services = await startServices(infra, { keys, taskWorkers: 0, sessionAgents: 1, envFor: () => mode.env });
    try {
      const load = (opts) =>
        postLoad({
          url: `${services.base}/v1/agents/assistant/invoke`,
          headers: { authorization: `Bearer ${keys[TENANT]}` },
          concurrency: CONCURRENCY,
          body: (i) => ({ input: `hello number ${i}` }),
          okStatus: 200,
          ...opts,
        });
      await load({ maxRequests: WARMUP });
      const run = await load({ durationMs: SECONDS * 1000 });
      const summary = latencySummary(run.latencies);
      results.push({ mode: mode.name, ok: run.accepted, sent: run.sent, perSecond: rate(run.accepted, run.elapsedMs), ...summary, statuses: run.statuses });
      console.log(`${mode.name}: ${rate(run.accepted, run.elapsedMs)} invokes/s, p50 ${summary.p50Ms} ms, p99 ${summary.p99Ms} ms`);
    } finally {
      await services.stop();
    }
  }
} finally {
  clearTimeout(guard);
  await receiver.stop();
  await infra.stop();
}
const base = results[0];
console.log('\nmode                               invokes/s  x off   p50 ms  p99 ms');
for (const r of results) {
  console.log(`${r.mode.padEnd(34)} ${String(r.perSecond).padStart(9)}  ${round(r.perSecond / base.perSecond, 2).toFixed(2).padStart(5)}  ${String(r.p50Ms).padStart(6)}  ${String(r.p99Ms).padStart(6)}`);
}
writeFileSync(join(ROOT, 'bench/results/observability-overhead-latest.json'), `${JSON.stringify({ seconds: SECONDS, concurrency: CONCURRENCY, node: process.version, results }, null, 2)}\n`);
