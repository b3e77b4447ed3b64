#!/usr/bin/env node
// Scaling out, same run: async tasks completed per second end to end and stateless invokes per second
// through the gateway with one and with two replicas of each service on the measured path (gateway,
// session-agent, task-worker) on one NATS node; and stateless latency with one NATS node (streams R1) vs a
// three-node JetStream cluster (streams R3, JETSTREAM_REPLICAS=3). Ratios against the one-replica /
// one-node baseline of the same run. Starts its own servers on free loopback ports, bounded in time, stops
// everything it started. See docs/benchmarks.md "Replicas and a NATS cluster".
//
//   node bench/cluster-scale.mjs [--tasks 2000] [--seconds 8] [--concurrency 16] [--latency-concurrency 4]
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { connect } from 'nats';
import { freePort, startApp, startNats, startNatsCluster, startRedis } from '../libs/testing/dist/index.js';
import { benchKeys } from './lib/mesh.mjs';
import { postLoad } from './lib/http-load.mjs';
import { resultsCounter } from './lib/jetstream.mjs';
import { latencySummary, machineCpuSeconds, now, rate, round } from './lib/stats.mjs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const TASKS = opt('tasks', 2_000);
const SECONDS = opt('seconds', 8);
const CONCURRENCY = opt('concurrency', 16);
const LATENCY_CONCURRENCY = opt('latency-concurrency', 4);
const WARMUP = opt('warmup', 300);
const OUT = 'bench/results/cluster-scale-latest.json';

const guard = setTimeout(() => {
  console.error('cluster-scale: over its 10 minute limit; stopping');
  process.exit(1);
}, 10 * 60_000).unref();

const sha = (key) => createHash('sha256').update(key).digest('hex');
const log = (...a) => console.log(...a);

/** gateway, session-agent and task-worker, `replicas` of each, against `natsUrl` (one URL or a list). */
async function startPath({ natsUrl, redisUrl, replicas, keys, env = {} }) {
  const dir = mkdtempSync(join(os.tmpdir(), 'keelson-bench-scale-'));
  const keysFile = join(dir, 'api-keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: Object.entries(keys).map(([tenant, key]) => ({ id: `bench-${tenant}`, tenant, sha256: sha(key), scopes: ['*'] })) }));
  const common = { NATS_URL: natsUrl, REDIS_URL: redisUrl, LOG_LEVEL: 'warn', KEELSON_API_KEYS_FILE: keysFile, ...env };
  const apps = [];
  const bases = [];
  try {
    for (const service of ['gateway', 'session-agent', 'task-worker']) {
      for (let n = 1; n <= replicas; n++) {
        const port = await freePort();
        const portVar = service === 'gateway' ? 'PORT' : 'HEALTH_PORT';
        apps.push(
          await startApp({
            name: service,
            env: { ...common, SERVICE_NAME: service, [portVar]: String(port) },
            readyUrl: `http://127.0.0.1:${port}/readyz`,
            readyTimeoutMs: 60_000,
          }),
        );
        if (service === 'gateway') bases.push(`http://127.0.0.1:${port}`);
      }
    }
  } catch (err) {
    await Promise.allSettled(apps.map((a) => a.stop()));
    throw err;
  }
  return {
    bases,
    async stop() {
      await Promise.allSettled(apps.map((a) => a.stop()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** postLoad split evenly over the gateway replicas (a client-side round robin), merged. */
async function spread(bases, path, { concurrency, maxRequests, ...rest }) {
  const share = (n) => (Number.isFinite(n) ? { maxRequests: Math.ceil(n / bases.length) } : {});
  const parts = await Promise.all(
    bases.map((base, part) =>
      postLoad({
        url: `${base}${path}`,
        concurrency: Math.ceil(concurrency / bases.length),
        ...share(maxRequests),
        ...rest,
        // Distinct bodies across the parts.
        ...(rest.body ? { body: (i) => rest.body(i * bases.length + part) } : {}),
      }),
    ),
  );
  const statuses = {};
  const errors = {};
  for (const p of parts) {
    for (const [k, v] of Object.entries(p.statuses)) statuses[k] = (statuses[k] ?? 0) + v;
    for (const [k, v] of Object.entries(p.errors)) errors[k] = (errors[k] ?? 0) + v;
  }
  return {
    sent: parts.reduce((a, p) => a + p.sent, 0),
    accepted: parts.reduce((a, p) => a + p.accepted, 0),
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    latencies: parts.flatMap((p) => p.latencies),
    statuses,
    errors,
  };
}

function busyMeter() {
  const m0 = machineCpuSeconds();
  return () => {
    const m1 = machineCpuSeconds();
    return m0 && m1 && m1.total > m0.total ? round((100 * (m1.busy - m0.busy)) / (m1.total - m0.total), 0) : undefined;
  };
}

/** One topology: the task phase (completed/s), the stateless throughput phase and the stateless latency phase. */
async function measure(label, { natsUrl, natsUrls, redisUrl, replicas, env }) {
  const tenants = ['warm', 'tasks', 'invoke'].map((t) => `bench-${label}-${t}`.replace(/[^a-z0-9-]/g, '-'));
  const keys = benchKeys(tenants);
  const [warmT, tasksT, invokeT] = tenants;
  log(`\n${label}: starting ${replicas} × (gateway, session-agent, task-worker)`);
  const path = await startPath({ natsUrl, redisUrl, replicas, keys, env });
  const nc = await connect({ servers: natsUrls });
  try {
    const headers = (tenant) => ({ authorization: `Bearer ${keys[tenant]}` });
    // Warm-up: tasks and invokes, unmeasured.
    const warmCounter = await resultsCounter(nc, warmT);
    await spread(path.bases, '/v1/tasks', { headers: headers(warmT), concurrency: CONCURRENCY, maxRequests: WARMUP, body: () => ({ agentId: 'assistant', input: 'warm' }) });
    await warmCounter.waitFor(WARMUP, 120_000);
    warmCounter.stop();
    await spread(path.bases, '/v1/agents/assistant/invoke', { headers: headers(warmT), concurrency: CONCURRENCY, maxRequests: WARMUP, body: (i) => ({ input: `warm ${i}` }), okStatus: 200 });

    // Tasks completed end to end: submit TASKS over HTTP, until the last distinct result.
    const counter = await resultsCounter(nc, tasksT);
    let busy = busyMeter();
    const t0 = now();
    const submit = await spread(path.bases, '/v1/tasks', { headers: headers(tasksT), concurrency: CONCURRENCY, maxRequests: TASKS, body: (i) => ({ agentId: 'assistant', input: `task ${i}` }) });
    if (submit.accepted !== TASKS) throw new Error(`${label}: ${submit.accepted} of ${TASKS} tasks accepted: ${JSON.stringify(submit.statuses)} ${JSON.stringify(submit.errors)}`);
    await counter.waitFor(TASKS, 180_000);
    const tasksMs = now() - t0;
    counter.stop();
    const tasks = { tasks: TASKS, seconds: round(tasksMs / 1000, 2), completedPerSec: rate(TASKS, tasksMs), failed: counter.failed, machineBusyPct: busy() };
    log(`  tasks: ${tasks.completedPerSec}/s completed end to end (${TASKS} in ${tasks.seconds} s, machine ${tasks.machineBusyPct}% busy)`);

    // Stateless throughput: CONCURRENCY closed-loop clients for SECONDS.
    busy = busyMeter();
    const thr = await spread(path.bases, '/v1/agents/assistant/invoke', { headers: headers(invokeT), concurrency: CONCURRENCY, durationMs: SECONDS * 1000, body: (i) => ({ input: `hello number ${i}` }), okStatus: 200 });
    const invokes = { perSec: rate(thr.accepted, thr.elapsedMs), ...latencySummary(thr.latencies), statuses: thr.statuses, errors: thr.errors, machineBusyPct: busy() };
    log(`  invokes (${CONCURRENCY} clients): ${invokes.perSec}/s, p50 ${invokes.p50Ms} ms, p99 ${invokes.p99Ms} ms`);

    // Stateless latency at a light load, where queueing does not hide the path's own cost.
    const lat = await spread(path.bases, '/v1/agents/assistant/invoke', { headers: headers(invokeT), concurrency: LATENCY_CONCURRENCY, durationMs: SECONDS * 1000, body: (i) => ({ input: `hello number ${i}` }), okStatus: 200 });
    const latency = { perSec: rate(lat.accepted, lat.elapsedMs), ...latencySummary(lat.latencies), statuses: lat.statuses };
    log(`  invokes (${LATENCY_CONCURRENCY} clients): p50 ${latency.p50Ms} ms, p99 ${latency.p99Ms} ms`);
    return { label, replicas, tasks, invokes, latency };
  } finally {
    await nc.close().catch(() => undefined);
    await path.stop();
  }
}

const started = Date.now();
const redis = await startRedis();
const single = await startNats();
let cluster;
const runs = [];
try {
  runs.push(await measure('1-node-1-replica', { natsUrl: single.url, natsUrls: single.url, redisUrl: redis.url, replicas: 1 }));
  runs.push(await measure('1-node-2-replicas', { natsUrl: single.url, natsUrls: single.url, redisUrl: redis.url, replicas: 2 }));
  await single.stop();
  cluster = await startNatsCluster({ nodes: 3 });
  runs.push(await measure('3-nodes-R3-1-replica', { natsUrl: cluster.url, natsUrls: cluster.urls, redisUrl: redis.url, replicas: 1, env: { JETSTREAM_REPLICAS: '3' } }));
} finally {
  await Promise.allSettled([single.stop(), cluster?.stop(), redis.stop()]);
  clearTimeout(guard);
}

const [base, two, three] = runs;
const ratio = (a, b) => (a && b ? round(a / b, 2) : undefined);
const report = {
  when: new Date().toISOString(),
  machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, memGiB: round(os.totalmem() / 2 ** 30, 1), node: process.version, loadavgAtEnd: os.loadavg().map((l) => round(l, 2)) },
  options: { tasks: TASKS, seconds: SECONDS, concurrency: CONCURRENCY, latencyConcurrency: LATENCY_CONCURRENCY, warmup: WARMUP },
  runs,
  ratios: {
    tasksCompleted_2replicas_vs_1: ratio(two.tasks.completedPerSec, base.tasks.completedPerSec),
    invokesPerSec_2replicas_vs_1: ratio(two.invokes.perSec, base.invokes.perSec),
    tasksCompleted_3nodesR3_vs_1node: ratio(three.tasks.completedPerSec, base.tasks.completedPerSec),
    invokesPerSec_3nodesR3_vs_1node: ratio(three.invokes.perSec, base.invokes.perSec),
    invokeP50_light_3nodesR3_vs_1node: ratio(three.latency.p50Ms, base.latency.p50Ms),
    invokeP99_light_3nodesR3_vs_1node: ratio(three.latency.p99Ms, base.latency.p99Ms),
    invokeP50_light_addedMs: round(three.latency.p50Ms - base.latency.p50Ms, 2),
    invokeP99_light_addedMs: round(three.latency.p99Ms - base.latency.p99Ms, 2),
  },
  seconds: round((Date.now() - started) / 1000, 0),
};
mkdirSync(dirname(OUT), { recursive: true });
writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
log('\ntopology                 tasks/s  ×base  invokes/s  ×base  light p50 ms  light p99 ms');
for (const r of runs) {
  log(
    `${r.label.padEnd(24)} ${String(r.tasks.completedPerSec).padStart(7)}  ${String(ratio(r.tasks.completedPerSec, base.tasks.completedPerSec)).padStart(5)}  ${String(r.invokes.perSec).padStart(9)}  ${String(ratio(r.invokes.perSec, base.invokes.perSec)).padStart(5)}  ${String(r.latency.p50Ms).padStart(12)}  ${String(r.latency.p99Ms).padStart(12)}`,
  );
}
log(`\n${JSON.stringify(report.ratios)}\nreport: ${OUT} (${report.seconds} s)`);
process.exit(0);
