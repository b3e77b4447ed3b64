#!/usr/bin/env node
// Memory of the whole mesh at rest (issue 11, target 6: <= 600 MB resident in total, measured per process).
// Starts its own NATS (with the generated identities, as `npm start`), Redis and S3 server on free ports and
// the six services, one process each, with the local defaults (embedded stores, offline model, LOG_LEVEL
// info) and production's node flags (the Dockerfile's CMD, tools/deploy/node-flags.mjs; no source maps).
// After a warm-up through each
// execution model (invoke, session turn, task) and a memory write + search, so that lazily loaded paths are
// in, it idles and then reads each process's memory from /proc and its /metrics. Baselines in the same run:
// an empty `node` process and a bare Fastify hello world.
// Usage: node bench/mesh-memory.mjs [--idle-s 30] [--census DIR] [--heap] [--out FILE]
//   --census DIR  preload bench/lib/module-census-preload.cjs and write each service's loaded modules
//                 (and with --heap a V8 heap snapshot) to DIR; it perturbs the figures, so the JSON says so
//   --service-env K=V  extra environment for every service (repeatable), for what-if runs
//   --node-flags "..." node's flags for every service instead of production's, e.g. "--enable-source-maps"
//                 (what the tests run); "" for none. What-if runs only: the JSON records the flags.
//   --logs DIR    write each service's log lines to DIR/<service>.log at the end
//   --load N      after the warm-up, N more stateless invokes (16 in flight) and N/10 tasks before the idle:
//                 memory at rest after load rather than after a light warm-up
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { API_KEY, MESH_SERVICES, startMesh } from '../e2e/dist/support/mesh.js';
import { freePort } from '../libs/testing/dist/index.js';
import { serviceNodeFlags } from '../tools/deploy/node-flags.mjs';
import { cpuMeter, round } from './lib/stats.mjs';

const root = fileURLToPath(new URL('..', import.meta.url));
const argValue = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
// 30 s: the services' idle trim collects after 15-20 s without work (libs/nest-kit idle-memory-trim.ts).
const IDLE_S = Number(argValue('idle-s', 30));
const LOAD = Number(argValue('load', 0));
const CENSUS_DIR = argValue('census') && resolve(argValue('census'));
const HEAP = process.argv.includes('--heap');
const LOGS_DIR = argValue('logs') && resolve(argValue('logs'));
const SERVICE_ENV = Object.fromEntries(process.argv.flatMap((a, i) => (process.argv[i - 1] === '--service-env' ? [a.split(/=(.*)/s).slice(0, 2)] : [])));
const NODE_FLAGS = argValue('node-flags') === undefined ? serviceNodeFlags(root) : argValue('node-flags').split(/\s+/).filter(Boolean);
const OUT = resolve(argValue('out', join(root, 'bench', 'results', 'mesh-memory-latest.json')));
const MB = 1024 * 1024;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const log = (msg) => console.error(`[mesh-memory] ${msg}`);

/** RSS and its split from /proc (kB there), plus PSS, which shares the node binary's pages fairly. */
function procMemory(pid) {
  const fields = (text) => Object.fromEntries([...text.matchAll(/^(\w+):\s+(\d+) kB/gm)].map((m) => [m[1], Number(m[2]) * 1024]));
  const status = fields(readFileSync(`/proc/${pid}/status`, 'utf8'));
  const rollup = fields(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
  return {
    rssMB: round(status.VmRSS / MB, 1),
    anonMB: round(status.RssAnon / MB, 1),
    fileMB: round(status.RssFile / MB, 1),
    shmemMB: round(status.RssShmem / MB, 1),
    pssMB: round(rollup.Pss / MB, 1),
    peakRssMB: round(status.VmHWM / MB, 1),
  };
}

/** V8 heap and external memory from the prom-client default metrics on the service's port. */
async function heapMetrics(port) {
  try {
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`, { signal: AbortSignal.timeout(5000) })).text();
    const value = (name) => {
      const m = text.match(new RegExp(`^(?:keelson_)?${name}(?:\\{[^}]*\\})? ([0-9.e+]+)$`, 'm'));
      return m ? round(Number(m[1]) / MB, 1) : undefined;
    };
    return {
      heapUsedMB: value('nodejs_heap_size_used_bytes'),
      heapTotalMB: value('nodejs_heap_size_total_bytes'),
      externalMB: value('nodejs_external_memory_bytes'),
      metricsRssMB: value('process_resident_memory_bytes'),
    };
  } catch (err) {
    return { metricsError: err.message };
  }
}

/** A baseline process; resolves once it printed "ready". */
async function startBaseline(script, env = {}) {
  const child = spawn(process.execPath, ['-e', script], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise((ok, fail) => {
    child.stdout.on('data', (d) => String(d).includes('ready') && ok());
    child.once('exit', (code) => fail(new Error(`baseline exited ${code}`)));
  });
  return child;
}

async function api(base, method, path, body) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, 'content-type': 'application/json' },
    body: body && JSON.stringify(body),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status >= 300) throw new Error(`${method} ${path} answered ${res.status}: ${text}`);
  return text ? JSON.parse(text) : undefined;
}

/** One of each: stateless invoke, session turn, task to completion, memory write and search. */
async function warmUp(base) {
  await api(base, 'POST', '/v1/agents/assistant/invoke', { input: 'hello' });
  const { sessionId } = await api(base, 'POST', '/v1/sessions', { agentId: 'assistant' });
  await api(base, 'POST', `/v1/sessions/${sessionId}/messages`, { content: 'Hello, I am Ada.' });
  const { taskId } = await api(base, 'POST', '/v1/tasks', { agentId: 'assistant', input: 'Summarise the plan.' });
  const deadline = Date.now() + 60_000;
  for (;;) {
    const task = await api(base, 'GET', `/v1/tasks/${taskId}`);
    if (task.status === 'succeeded') break;
    if (task.status === 'failed' || Date.now() > deadline) throw new Error(`warm-up task ended ${JSON.stringify(task)}`);
    await sleep(250);
  }
  await api(base, 'POST', '/v1/memories', { namespace: 'user:bench', text: 'Ada likes tea.' });
  await api(base, 'POST', '/v1/memories/search', { query: 'what does Ada like?' });
}

/** `n` invokes, 16 in flight, and n/10 task submissions (not awaited to completion: the idle covers them). */
async function load(base, n) {
  let next = 0;
  await Promise.all(
    Array.from({ length: 16 }, async () => {
      while (next < n) {
        const i = next++;
        await api(base, 'POST', '/v1/agents/assistant/invoke', { input: `load ${i}` });
        if (i % 10 === 0) await api(base, 'POST', '/v1/tasks', { agentId: 'assistant', input: `load task ${i}` });
      }
    }),
  );
}

async function census(apps) {
  for (const [, app] of apps) process.kill(app.pid, 'SIGUSR2');
  const deadline = Date.now() + 120_000;
  for (const name of MESH_SERVICES) {
    while (!existsSync(join(CENSUS_DIR, `${name}.done`)) && Date.now() < deadline) await sleep(200);
  }
  return Object.fromEntries(
    MESH_SERVICES.map((name) => {
      const c = JSON.parse(readFileSync(join(CENSUS_DIR, `${name}.json`), 'utf8'));
      const top = Object.entries(c.packages).slice(0, 12).map(([pkg, v]) => ({ pkg, modules: v.modules, sourceKB: round(v.sourceBytes / 1024) }));
      return [name, { modules: c.modules, packages: Object.keys(c.packages).length, top }];
    }),
  );
}

const fastifyPort = await freePort();
const bareNode = await startBaseline(`console.log('ready'); setInterval(() => {}, 1 << 30);`);
const bareFastify = await startBaseline(
  `const app = require('fastify')(); app.get('/', async () => ({ hello: 'world' }));
   app.listen({ port: ${fastifyPort}, host: '127.0.0.1' }).then(() => console.log('ready'));`,
);
if (CENSUS_DIR) mkdirSync(CENSUS_DIR, { recursive: true });
const censusEnv = CENSUS_DIR
  ? { NODE_OPTIONS: `--require ${join(root, 'bench', 'lib', 'module-census-preload.cjs')}`, KEELSON_CENSUS_DIR: CENSUS_DIR, KEELSON_CENSUS_HEAP: HEAP ? '1' : '0' }
  : {};
log('starting NATS, Redis, S3 and the six services…');
const mesh = await startMesh({ nodeArgs: NODE_FLAGS, env: { LOG_LEVEL: 'info', AGENTS_DIR: join(root, 'agents'), ...censusEnv, ...SERVICE_ENV } });
try {
  const apps = [...mesh.apps].map(([name, app]) => [name.replace(/-\d+$/, ''), app]);
  await fetch(`http://127.0.0.1:${fastifyPort}/`).then((r) => r.text());
  log('warm-up…');
  await warmUp(mesh.base);
  if (LOAD > 0) {
    log(`load: ${LOAD} invokes, ${Math.ceil(LOAD / 10)} tasks…`);
    await load(mesh.base, LOAD);
  }
  log(`idle ${IDLE_S}s…`);
  const pids = Object.fromEntries([...apps.map(([name, app]) => [name, app.pid]), ['bare-node', bareNode.pid], ['bare-fastify', bareFastify.pid]]);
  const meter = cpuMeter(pids);
  await sleep(IDLE_S * 1000);
  const idleCpu = meter.stop();

  const services = {};
  for (const [name, app] of apps) services[name] = { ...procMemory(app.pid), ...(await heapMetrics(mesh.ports.get(`${name}-1`))) };
  const baseline = { bareNode: procMemory(bareNode.pid), bareFastify: procMemory(bareFastify.pid) };
  const sum = (key) => round(Object.values(services).reduce((a, s) => a + s[key], 0), 1);
  const totals = { rssMB: sum('rssMB'), anonMB: sum('anonMB'), fileMB: sum('fileMB'), pssMB: sum('pssMB') };
  const result = {
    date: new Date().toISOString(),
    machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, memoryGB: round(totalmem() / 1024 ** 3, 1), node: process.version },
    method: `six services one process each as startMesh runs them (node ${NODE_FLAGS.join(' ') || 'without flags'}, NATS auth, embedded stores, S3 server, LOG_LEVEL=info); warm-up invoke + session turn + task + memory write/search; ${IDLE_S}s idle; then /proc/<pid>/status (VmRSS, RssAnon, RssFile, RssShmem), /proc/<pid>/smaps_rollup (Pss) and /metrics`,
    nodeFlags: NODE_FLAGS,
    nodeFlagsFrom: argValue('node-flags') === undefined ? 'deploy/docker/Dockerfile CMD (production)' : '--node-flags (what-if)',
    load: LOAD > 0 ? { invokes: LOAD, tasks: Math.ceil(LOAD / 10) } : undefined,
    serviceEnv: Object.keys(SERVICE_ENV).length ? SERVICE_ENV : undefined,
    perturbed: CENSUS_DIR ? 'module census preload loaded: use these figures for the census only' : undefined,
    targetMB: 600,
    services,
    totals,
    targetMet: totals.rssMB <= 600,
    baseline,
    ratioToSixBareNode: round(totals.rssMB / (6 * baseline.bareNode.rssMB), 2),
    ratioToSixBareFastify: round(totals.rssMB / (6 * baseline.bareFastify.rssMB), 2),
    idleCpu,
    census: CENSUS_DIR ? await census(apps) : undefined,
  };
  writeFileSync(OUT, `${JSON.stringify(result, null, 2)}\n`);
  console.log(JSON.stringify({ services: Object.fromEntries(Object.entries(services).map(([n, s]) => [n, s.rssMB])), totals, baseline: { node: baseline.bareNode.rssMB, fastify: baseline.bareFastify.rssMB }, ratio: result.ratioToSixBareNode }));
  log(`wrote ${OUT}`);
} finally {
  if (LOGS_DIR) {
    mkdirSync(LOGS_DIR, { recursive: true });
    for (const [name, app] of mesh.apps) writeFileSync(join(LOGS_DIR, `${name}.log`), `${app.logs().join('\n')}\n`);
  }
  await mesh.stop();
  bareNode.kill();
  bareFastify.kill();
}
