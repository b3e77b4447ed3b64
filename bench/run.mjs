#!/usr/bin/env node
// Keelson throughput benchmark: tasks accepted per second at the gateway and completed per second end to
// end, against a raw JetStream publish/consume baseline measured in the same run, on the same machine,
// on the same nats-server. Starts its own nats-server, redis-server and services on free loopback ports,
// is bounded in count and time, and stops everything it started. See docs/benchmarks.md.
//
//   npm run bench -- [--messages 20000] [--tasks 2000] [--concurrency 32] [--duration 10] [--profile task-worker]
//   node bench/run.mjs --help
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { taskIdForKey } from '../libs/contracts/dist/index.js';
import { startInfra, startServices, benchKeys } from './lib/mesh.mjs';
import { pipelinedPublish, purgeTenantTasks, rawBaseline, resultsCounter, waitForTaskQueueIdle } from './lib/jetstream.mjs';
import { postLoad } from './lib/http-load.mjs';
import { cpuMeter, latencySummary, now, rate, round } from './lib/stats.mjs';
import { formatSummary, summarizeProfile } from './profile-summary.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const AGENT = 'assistant';
const TENANTS = { warm: 'bench-warm', accept: 'bench-accept', http: 'bench-http', nats: 'bench-nats' };

const OPTIONS = {
  messages: { def: 50_000, help: 'baseline: messages published then consumed (each of the two baseline runs)' },
  tasks: { def: 10_000, help: 'completed phases: tasks submitted over HTTP, and again over NATS' },
  concurrency: { def: 32, help: 'HTTP clients, each on its own keep-alive connection' },
  duration: { def: 15, help: 'accepted phase: seconds of load (workers paused)' },
  requests: { def: 0, help: 'accepted phase: stop after this many requests instead (0: use --duration)' },
  window: { def: 256, help: 'pipelined JetStream publishes in flight (baseline and NATS submission)' },
  'pull-batch': { def: 256, help: 'baseline consumer: messages per pull' },
  'input-bytes': { def: 100, help: 'characters of task input' },
  workers: { def: 2, help: 'task-worker replicas' },
  warmup: { def: 500, help: 'tasks run end to end before measuring (JIT, connections)' },
  profile: { def: '', help: 'profile one process while it works: gateway (accepted + HTTP phases) | task-worker (completed phases)' },
  'service-env': { def: '', help: 'extra environment for every service, KEY=VALUE[,KEY=VALUE] (what-if runs, e.g. OTEL_SDK_DISABLED=true)' },
  'max-seconds': { def: 480, help: 'hard limit on the whole run; it stops everything and fails after it' },
  out: { def: 'bench/results/latest.json', help: 'where the JSON report goes' },
  build: { def: true, help: 'run `tsc -b` first (--no-build to skip)' },
};

function parseArgs(argv) {
  const opts = Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, v.def]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--help' || arg === '-h') {
      console.log('usage: node bench/run.mjs [options]\n');
      for (const [k, v] of Object.entries(OPTIONS)) console.log(`  --${k.padEnd(13)} ${v.help} (default ${JSON.stringify(v.def)})`);
      process.exit(0);
    }
    if (arg === '--no-build') {
      opts.build = false;
      continue;
    }
    const [flag, inline] = arg.split('=', 2);
    const name = flag.replace(/^--/, '');
    if (!flag.startsWith('--') || !(name in OPTIONS)) throw new Error(`unknown option ${arg} (see --help)`);
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new Error(`${flag} needs a value`);
    if (typeof OPTIONS[name].def === 'number') {
      const n = Number(raw);
      if (!Number.isFinite(n) || n < 0) throw new Error(`${flag} must be a non-negative number, got ${raw}`);
      opts[name] = n;
    } else opts[name] = raw;
  }
  if (opts.profile && !['task-worker', 'gateway'].includes(opts.profile)) throw new Error('--profile is task-worker or gateway');
  opts.serviceEnv = {};
  for (const pair of opts['service-env'] ? opts['service-env'].split(',') : []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--service-env wants KEY=VALUE, got ${pair}`);
    opts.serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  for (const k of ['messages', 'tasks', 'concurrency', 'window', 'pull-batch', 'input-bytes', 'workers']) {
    if (!Number.isInteger(opts[k]) || opts[k] < 1) throw new Error(`--${k} must be a positive integer`);
  }
  return opts;
}

const log = (msg) => process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

function taskInput(bytes) {
  const base = 'Summarise the attached incident report for the on-call engineer and list the next three actions. ';
  return base.repeat(Math.ceil(bytes / base.length)).slice(0, bytes);
}

function versionOf(cmd, args, re) {
  try {
    return re.exec(execFileSync(cmd, args, { encoding: 'utf8' }))?.[1];
  } catch {
    return undefined;
  }
}

/** The commit measured, and how many files under apps/ and libs/ differ from it (a dirty tree is measured as built). */
function gitState() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'libs'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, changedFilesUnderAppsAndLibs: dirty };
  } catch {
    return undefined;
  }
}

function machine() {
  const cpus = os.cpus();
  return {
    hostname: os.hostname(),
    platform: `${os.type()} ${os.release()} ${os.arch()}`,
    cpuModel: cpus[0]?.model,
    cores: cpus.length,
    memoryGiB: round(os.totalmem() / 2 ** 30, 1),
    loadAverageAtStart: os.loadavg().map((x) => round(x, 2)),
  };
}

/** Runs `fn` with a CPU meter over the processes the bench started; `countOf(result)` items were handled. */
async function metered(pids, fn, countOf = () => undefined) {
  const meter = cpuMeter(pids());
  const result = await fn();
  return { ...result, cpu: meter.stop(countOf(result)) };
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const startedAt = new Date();
  const hardStop = setTimeout(() => {
    log(`the run passed --max-seconds ${opts['max-seconds']}: stopping everything`);
    process.kill(process.pid, 'SIGTERM'); // the testing lib's handler kills every child and exits
  }, opts['max-seconds'] * 1000);
  hardStop.unref();

  if (opts.build) {
    log('building (tsc -b tsconfig.json)');
    execFileSync(join(ROOT, 'node_modules', '.bin', 'tsc'), ['-b', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });
  }
  for (const app of ['gateway', 'task-worker', 'session-agent']) {
    if (!existsSync(join(ROOT, 'apps', app, 'dist', 'main.js'))) throw new Error(`apps/${app}/dist/main.js is missing: build first (npx tsc -b tsconfig.json)`);
  }

  const input = taskInput(opts['input-bytes']);
  // Exactly the body the gateway publishes for such a task, so the baseline moves messages of the same size.
  const payload = new TextEncoder().encode(JSON.stringify({ input, taskId: `tsk_${'0'.repeat(32)}` }));
  const keys = benchKeys(Object.values(TENANTS));

  const profileDir = join(ROOT, 'tmp', 'bench', 'profiles');
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const profileTarget = opts.profile ? `${opts.profile}-1` : undefined;
  const profilePrefix = profileTarget ? join(profileDir, `${stamp}-${profileTarget}`) : undefined;
  if (profilePrefix) mkdirSync(profileDir, { recursive: true });

  let infra;
  let services;
  let nc;
  const report = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    machine: machine(),
    versions: {
      node: process.version,
      natsClient: JSON.parse(readFileSync(join(ROOT, 'node_modules', 'nats', 'package.json'), 'utf8')).version,
      redisServer: versionOf('redis-server', ['--version'], /v=(\S+)/),
    },
    git: gitState(),
    params: { ...opts, build: undefined, out: undefined, 'service-env': undefined, payloadBytes: payload.length, agent: AGENT },
  };
  try {
    log('starting nats-server and redis-server on free ports');
    infra = await startInfra();
    nc = await connect({ servers: infra.nats.url, name: 'bench', maxReconnectAttempts: 0 });
    report.versions.natsServer = nc.info?.version;
    const pids = () => ({
      bench: process.pid,
      'nats-server': infra.nats.pid,
      'redis-server': infra.redis.pid,
      ...Object.fromEntries([...(services?.apps ?? new Map())].map(([name, app]) => [name, app.pid])),
    });

    const baseline = async (label) => {
      log(`baseline (${label}): ${opts.messages} raw JetStream publishes, then pull-consume + ack`);
      const r = await rawBaseline(nc, {
        count: opts.messages,
        window: opts.window,
        payload,
        pullBatch: opts['pull-batch'],
        meter: () => cpuMeter(pids(), opts.messages),
      });
      log(`  publish ${r.publish.perSec}/s, consume+ack ${r.consume.perSec}/s`);
      return r;
    };
    const baselineBefore = await baseline('before');

    log(`starting gateway, session-agent and ${opts.workers} task-workers`);
    services = await startServices(infra, {
      keys,
      taskWorkers: opts.workers,
      envFor: (name) => ({
        ...opts.serviceEnv,
        ...(name === profileTarget
          ? {
              KEELSON_BENCH_CPU_PROFILE: profilePrefix,
              NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(ROOT, 'bench', 'lib', 'cpu-profile-preload.cjs')}`.trim(),
            }
          : {}),
      }),
    });
    const url = `${services.base}/v1/tasks`;
    const headersFor = (tenant) => ({ authorization: `Bearer ${keys[tenant]}` });
    const taskBody = () => ({ agentId: AGENT, input });

    // Warm-up: the same path, end to end, unmeasured.
    if (opts.warmup > 0) {
      log(`warm-up: ${opts.warmup} tasks end to end`);
      const counter = await resultsCounter(nc, TENANTS.warm);
      const warm = await postLoad({ url, headers: headersFor(TENANTS.warm), concurrency: opts.concurrency, maxRequests: opts.warmup, body: taskBody });
      if (warm.accepted !== opts.warmup) throw new Error(`warm-up: ${warm.accepted} of ${opts.warmup} accepted: ${JSON.stringify(warm.statuses)} ${JSON.stringify(warm.errors)}`);
      await counter.waitFor(opts.warmup, 120_000);
      counter.stop();
      await waitForTaskQueueIdle(nc, 30_000);
    }

    // The profile covers the phases in which the profiled process works: the gateway from the accepted
    // phase on, a task-worker from the completed phases on (it is paused during the accepted phase).
    const startProfile = async () => {
      writeFileSync(`${profilePrefix}.start`, '');
      await new Promise((r) => setTimeout(r, 300)); // the preload polls every 100 ms
    };
    if (opts.profile === 'gateway') await startProfile();

    // 2. Accepted at the gateway, with the task-workers paused (SIGSTOP) so the gateway, NATS and Redis have
    // the machine to themselves, as the raw publisher had.
    const acceptBound = opts.requests > 0 ? { maxRequests: opts.requests } : { durationMs: opts.duration * 1000 };
    log(`accepted: POST /v1/tasks, ${opts.concurrency} clients, ${opts.requests > 0 ? `${opts.requests} requests` : `${opts.duration} s`}, task-workers paused`);
    const workers = services.workers();
    await Promise.all(workers.map((w) => w.kill('SIGSTOP')));
    let accept;
    try {
      accept = await metered(pids, () =>
        postLoad({ url, headers: headersFor(TENANTS.accept), concurrency: opts.concurrency, ...acceptBound, body: taskBody }),
        (r) => r.accepted,
      );
    } finally {
      // The accepted tasks are not part of any later measure: drop the ones still queued, let the workers
      // finish the few they had already pulled.
      const purged = await purgeTenantTasks(nc, TENANTS.accept).catch(() => 0);
      await Promise.all(workers.map((w) => w.kill('SIGCONT')));
      log(`  purged ${purged} accepted tasks from the queue; resumed the task-workers`);
    }
    await waitForTaskQueueIdle(nc, 60_000);
    const acceptedResult = {
      sent: accept.sent,
      accepted: accept.accepted,
      seconds: round(accept.elapsedMs / 1000, 2),
      perSec: rate(accept.accepted, accept.elapsedMs),
      latency: latencySummary(accept.latencies),
      statuses: accept.statuses,
      errors: accept.errors,
      cpu: accept.cpu,
    };
    log(`  accepted ${acceptedResult.perSec}/s, p50 ${acceptedResult.latency.p50Ms} ms, p99 ${acceptedResult.latency.p99Ms} ms`);

    if (opts.profile === 'task-worker') await startProfile();

    // 3a. Completed end to end, submitted over HTTP.
    log(`completed (HTTP): ${opts.tasks} tasks over POST /v1/tasks, ${opts.concurrency} clients, until the last result`);
    const completedHttp = await metered(pids, async () => {
      const submittedAt = new Map();
      const e2e = [];
      const counter = await resultsCounter(nc, TENANTS.http, (taskId, _status, t) => {
        const s = submittedAt.get(taskId);
        if (s !== undefined) e2e.push(t - s);
      });
      const t0 = now();
      const load = await postLoad({
        url,
        headers: headersFor(TENANTS.http),
        concurrency: opts.concurrency,
        maxRequests: opts.tasks,
        body: taskBody,
        parse: true,
        onAccepted: (_i, json, tStart) => submittedAt.set(json.taskId, tStart),
      });
      if (load.accepted !== opts.tasks) {
        throw new Error(`completed (HTTP): ${load.accepted} of ${opts.tasks} accepted: ${JSON.stringify(load.statuses)} ${JSON.stringify(load.errors)}`);
      }
      await counter.waitFor(opts.tasks, 180_000);
      const tLast = now();
      counter.stop();
      return {
        tasks: opts.tasks,
        seconds: round((tLast - t0) / 1000, 2),
        completedPerSec: rate(opts.tasks, tLast - t0),
        acceptedPerSec: rate(load.accepted, load.lastAcceptedAt - t0),
        failedResults: counter.failed,
        acceptLatency: latencySummary(load.latencies),
        endToEndLatency: latencySummary(e2e),
      };
    }, (r) => r.tasks);
    await waitForTaskQueueIdle(nc, 30_000);
    log(`  completed ${completedHttp.completedPerSec}/s (accepted ${completedHttp.acceptedPerSec}/s while workers ran)`);

    // 3b. Completed end to end, published straight onto NATS as a tenant's own publisher would.
    log(`completed (NATS): ${opts.tasks} tasks published on keelson.tasks.${TENANTS.nats}.${AGENT}, until the last result`);
    const completedNats = await metered(pids, async () => {
      const submittedAt = new Map();
      const e2e = [];
      const counter = await resultsCounter(nc, TENANTS.nats, (taskId, _status, t) => {
        const s = submittedAt.get(taskId);
        if (s !== undefined) e2e.push(t - s);
      });
      const js = nc.jetstream();
      const data = new TextEncoder().encode(JSON.stringify({ input }));
      const runId = Date.now().toString(36);
      const t0 = now();
      const pub = await pipelinedPublish(js, opts.tasks, opts.window, (i) => {
        const key = `${runId}-${i}`;
        submittedAt.set(taskIdForKey(TENANTS.nats, key), now());
        return { subject: `keelson.tasks.${TENANTS.nats}.${AGENT}`, data, msgId: `${TENANTS.nats}:${key}` };
      });
      await counter.waitFor(opts.tasks, 180_000);
      const tLast = now();
      counter.stop();
      return {
        tasks: opts.tasks,
        seconds: round((tLast - t0) / 1000, 2),
        completedPerSec: rate(opts.tasks, tLast - t0),
        publishedPerSec: rate(opts.tasks, pub.ms),
        failedResults: counter.failed,
        endToEndLatency: latencySummary(e2e),
      };
    }, (r) => r.tasks);
    await waitForTaskQueueIdle(nc, 30_000);
    log(`  completed ${completedNats.completedPerSec}/s`);

    if (profilePrefix) {
      writeFileSync(`${profilePrefix}.stop`, '');
      const deadline = Date.now() + 30_000;
      while (!existsSync(`${profilePrefix}.done`) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const status = existsSync(`${profilePrefix}.done`) ? readFileSync(`${profilePrefix}.done`, 'utf8') : 'timed out';
      if (status !== 'ok') throw new Error(`the profile of ${profileTarget} was not written: ${status}`);
      const summary = summarizeProfile(JSON.parse(readFileSync(`${profilePrefix}.cpuprofile`, 'utf8')), { top: 25 });
      const window = opts.profile === 'gateway' ? 'accepted and completed phases' : 'completed phases (HTTP and NATS)';
      report.profile = { process: profileTarget, file: relative(ROOT, `${profilePrefix}.cpuprofile`), window, ...summary };
      for (const f of ['start', 'stop', 'done']) rmSync(`${profilePrefix}.${f}`, { force: true });
    }

    log('stopping the services');
    await services.stop();
    services = undefined;
    const baselineAfter = await baseline('after');

    // Ratios against the mean of the two same-run baselines (before and after the mesh).
    const mean = (a, b) => round((a + b) / 2, 1);
    const base = {
      publishPerSec: mean(baselineBefore.publish.perSec, baselineAfter.publish.perSec),
      consumePerSec: mean(baselineBefore.consume.perSec, baselineAfter.consume.perSec),
      publishThenConsumePerSec: mean(baselineBefore.publishThenConsumePerSec, baselineAfter.publishThenConsumePerSec),
    };
    report.baseline = { before: baselineBefore, after: baselineAfter, mean: base };
    report.keelson = { accepted: acceptedResult, completedHttp, completedNats };
    report.ratios = {
      acceptedPerRawPublish: round(acceptedResult.perSec / base.publishPerSec, 3),
      completedHttpPerRawPublishThenConsume: round(completedHttp.completedPerSec / base.publishThenConsumePerSec, 3),
      completedNatsPerRawPublishThenConsume: round(completedNats.completedPerSec / base.publishThenConsumePerSec, 3),
      acceptedWhileWorkingPerRawPublish: round(completedHttp.acceptedPerSec / base.publishPerSec, 3),
    };
  } finally {
    clearTimeout(hardStop);
    await nc?.close().catch(() => undefined);
    await services?.stop().catch(() => undefined);
    await infra?.stop();
  }

  report.finishedAt = new Date().toISOString();
  report.durationS = round((Date.now() - startedAt.getTime()) / 1000, 1);
  report.machine.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
  const out = resolve(ROOT, opts.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  // Every run is also kept under its timestamp (git-ignored: bench/results/*.raw.json).
  writeFileSync(join(dirname(out), `${stamp}.raw.json`), `${JSON.stringify(report, null, 2)}\n`);
  console.log(table(report));
  if (report.profile) console.log(`\n${formatSummary(report.profile, `CPU profile of ${report.profile.process} (${report.profile.file})`)}`);
  console.log(`\nreport: ${relative(ROOT, out)} (${report.durationS} s)`);
}

function table(r) {
  const b = r.baseline;
  const k = r.keelson;
  const rows = [
    ['raw JetStream publish, msgID, PubAck awaited (before)', b.before.messages, b.before.publish.ms / 1000, b.before.publish.perSec],
    ['raw JetStream pull consume + ack (before)', b.before.messages, b.before.consume.ms / 1000, b.before.consume.perSec],
    ['raw JetStream publish (after)', b.after.messages, b.after.publish.ms / 1000, b.after.publish.perSec],
    ['raw JetStream pull consume + ack (after)', b.after.messages, b.after.consume.ms / 1000, b.after.consume.perSec],
    ['raw publish then consume, N / (t_pub + t_cons) (mean)', '', '', b.mean.publishThenConsumePerSec],
    ['Keelson accepted: POST /v1/tasks -> 202, workers paused', k.accepted.accepted, k.accepted.seconds, k.accepted.perSec, k.accepted.latency.p50Ms, k.accepted.latency.p99Ms],
    ['Keelson completed: HTTP submit -> result on KEELSON_RESULTS', k.completedHttp.tasks, k.completedHttp.seconds, k.completedHttp.completedPerSec, k.completedHttp.endToEndLatency.p50Ms, k.completedHttp.endToEndLatency.p99Ms],
    ['  (accepted while the workers ran)', '', '', k.completedHttp.acceptedPerSec, k.completedHttp.acceptLatency.p50Ms, k.completedHttp.acceptLatency.p99Ms],
    ['Keelson completed: NATS publish -> result', k.completedNats.tasks, k.completedNats.seconds, k.completedNats.completedPerSec, k.completedNats.endToEndLatency.p50Ms, k.completedNats.endToEndLatency.p99Ms],
  ];
  const fmt = (v, d = 0) => (v === '' || v === undefined ? '' : typeof v === 'number' ? v.toFixed(d) : String(v));
  const lines = [
    `Keelson benchmark, ${r.machine.cores} cores (${r.machine.cpuModel}), node ${r.versions.node}, nats-server ${r.versions.natsServer}, nats.js ${r.versions.natsClient}`,
    `${'phase'.padEnd(62)} ${'count'.padStart(7)} ${'seconds'.padStart(8)} ${'per sec'.padStart(9)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)}`,
  ];
  for (const [name, count, secs, perSec, p50, p99] of rows) {
    lines.push(`${name.padEnd(62)} ${fmt(count).padStart(7)} ${fmt(secs, 2).padStart(8)} ${fmt(perSec).padStart(9)} ${fmt(p50, 1).padStart(8)} ${fmt(p99, 1).padStart(8)}`);
  }
  lines.push('', 'CPU ms per message or task, by process');
  const cpuRows = [
    ['raw publish (before)', b.before.publish.cpu],
    ['raw consume + ack (before)', b.before.consume.cpu],
    ['raw publish (after)', b.after.publish.cpu],
    ['raw consume + ack (after)', b.after.consume.cpu],
    ['accepted (workers paused)', k.accepted.cpu],
    ['completed, HTTP', k.completedHttp.cpu],
    ['completed, NATS', k.completedNats.cpu],
  ];
  const cols = ['bench', 'nats-server', 'redis-server', 'gateway', 'task-worker', 'session-agent'];
  const perItem = (cpu, col) => {
    let sum;
    for (const [name, p] of Object.entries(cpu?.processes ?? {})) {
      if ((name === col || name.startsWith(`${col}-`)) && p.cpuMsPerItem !== undefined) sum = (sum ?? 0) + p.cpuMsPerItem;
    }
    return sum;
  };
  lines.push(`${''.padEnd(28)} ${'total'.padStart(7)} ${cols.map((c) => c.padStart(13)).join(' ')} ${'machine busy'.padStart(13)} ${'others'.padStart(8)}`);
  for (const [name, cpu] of cpuRows) {
    const others = cpu?.otherCpuS !== undefined ? `${fmt((100 * cpu.otherCpuS) / cpu.wallS)}%` : '';
    lines.push(
      `${name.padEnd(28)} ${fmt(cpu?.cpuMsPerItem, 3).padStart(7)} ${cols.map((c) => fmt(perItem(cpu, c), 3).padStart(13)).join(' ')} ${`${fmt(cpu?.machineBusyPct)}%`.padStart(13)} ${others.padStart(8)}`,
    );
  }
  lines.push('  (machine busy: all cores, everyone; others: CPU of processes the bench did not start, in % of one core)');
  lines.push('', 'ratios (against the mean of the two same-run baselines)');
  lines.push(`  accepted/s / raw publish/s                         ${r.ratios.acceptedPerRawPublish}`);
  lines.push(`  accepted/s while workers ran / raw publish/s       ${r.ratios.acceptedWhileWorkingPerRawPublish}`);
  lines.push(`  completed/s (HTTP) / raw publish-then-consume/s    ${r.ratios.completedHttpPerRawPublishThenConsume}`);
  lines.push(`  completed/s (NATS) / raw publish-then-consume/s    ${r.ratios.completedNatsPerRawPublishThenConsume}`);
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
