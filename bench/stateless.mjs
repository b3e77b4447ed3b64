#!/usr/bin/env node
// Stateless invoke through the gateway against baselines measured in the same run (issue 11, targets 1 and 2):
//   (a) a bare Fastify hello-world server in its own process, closed-loop max throughput;
//   (b) POST /v1/agents/assistant/invoke through the gateway, the same clients: max throughput;
//   (c) the same invoke at a fixed 500 req/s (open loop): p50 / p99 / p99.9 latency;
//   (d) the session-agent's own invoke code (@keelson/stateless answerInvoke, offline model, inline guard on
//       the default policy) called in this process at the same rate: what (c) would be with no gateway path.
// The whole mesh runs throughout (e2e's startMesh: gateway, session-agent, task-worker, memory-, audit- and
// guard-service, NATS with its generated credentials, Redis, the local S3 endpoint), with the offline model
// answering at once and the guard inline. Rounds repeat (a)-(d) on the same mesh. Every phase records CPU per
// process and the machine's busy share, so other sessions' load on the shared cores is visible. Bounded by
// --max-seconds; stops every process it started. See docs/benchmarks.md.
//
//   npm run bench:stateless -- [--seconds 10] [--concurrency 32] [--rate 500] [--rate-seconds 15] [--rounds 2]
//                              [--warmup 500] [--profile gateway|session-agent|nats] [--max-seconds 420]
import { execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postLoad } from './lib/http-load.mjs';
import { jsonPoster, openLoop } from './lib/open-loop.mjs';
import { cpuMeter, rate, round } from './lib/stats.mjs';
import { formatSummary, summarizeProfile } from './profile-summary.mjs';
import { captureNatsProfile, formatNatsSummary, summarizeNatsProfile } from './lib/nats-profile.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const OPTIONS = {
  seconds: { def: 10, help: 'closed-loop phases (a) and (b): seconds of load' },
  concurrency: { def: 32, help: 'closed-loop clients, each on its own keep-alive connection' },
  rate: { def: 500, help: 'open-loop phases (c) and (d): requests per second' },
  'rate-seconds': { def: 15, help: 'open-loop phases: seconds' },
  rounds: { def: 2, help: 'times (a)-(d) run on the same mesh' },
  warmup: { def: 500, help: 'unmeasured requests before each closed-loop phase and in-process calls before (d)' },
  'service-env': { def: '', help: 'extra environment for every service, KEY=VALUE[,KEY=VALUE] (what-if runs, e.g. OTEL_SDK_DISABLED=true)' },
  profile: { def: '', help: 'CPU-profile gateway, session-agent or nats (nats-server) over phases (b) and (c) of the last round' },
  'max-seconds': { def: 420, help: 'hard limit on the whole run; it stops everything and fails after it' },
  out: { def: 'bench/results/stateless-latest.json', help: 'where the JSON report goes' },
};
const TARGETS = { invokesPerSec: 2_000, addedP50Ms: 2, addedP99Ms: 10 };
const AGENT = 'assistant';

function parseArgs(argv) {
  const opts = Object.fromEntries(Object.entries(OPTIONS).map(([k, v]) => [k, v.def]));
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--help') {
      for (const [k, v] of Object.entries(OPTIONS)) console.log(`  --${k.padEnd(13)} ${v.help} (default ${JSON.stringify(v.def)})`);
      process.exit(0);
    }
    const name = argv[i].replace(/^--/, '');
    if (!(name in OPTIONS)) throw new Error(`unknown option ${argv[i]} (see --help)`);
    const raw = argv[++i];
    opts[name] = typeof OPTIONS[name].def === 'number' ? Number(raw) : raw;
    if (typeof opts[name] === 'number' && !(opts[name] >= 0)) throw new Error(`--${name} must be a non-negative number`);
  }
  if (opts.profile && !['gateway', 'session-agent', 'nats'].includes(opts.profile)) throw new Error('--profile is gateway, session-agent or nats');
  opts.serviceEnv = {};
  for (const pair of opts['service-env'] ? opts['service-env'].split(',') : []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) throw new Error(`--service-env wants KEY=VALUE, got ${pair}`);
    opts.serviceEnv[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  return opts;
}

const log = (msg) => process.stderr.write(`[stateless ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);

/** Percentiles as latencySummary takes them (nearest rank), with p99.9, which the targets' tail needs. */
function percentiles(values) {
  if (values.length === 0) return { count: 0 };
  const sorted = Float64Array.from(values).sort();
  const at = (p) => round(sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))], 3);
  return { count: sorted.length, p50Ms: at(50), p90Ms: at(90), p99Ms: at(99), p999Ms: at(99.9), maxMs: round(sorted[sorted.length - 1], 3) };
}

/** The Fastify baseline in its own process; resolves once it listens. */
async function startFastifyHello() {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'lib', 'fastify-hello.mjs')], { stdio: ['ignore', 'pipe', 'inherit'] });
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  const port = await new Promise((resolvePort, reject) => {
    let out = '';
    child.stdout.on('data', (chunk) => {
      out += chunk;
      const m = /listening (\d+)/.exec(out);
      if (m) resolvePort(Number(m[1]));
    });
    child.once('exit', (code) => reject(new Error(`the Fastify baseline exited (${code}) before listening`)));
  });
  return {
    pid: child.pid,
    url: `http://127.0.0.1:${port}/hello`,
    stop: () =>
      new Promise((done) => {
        process.removeListener('exit', killOnExit);
        if (child.exitCode !== null) return done();
        child.once('exit', done);
        child.kill('SIGTERM');
      }),
  };
}

function machine() {
  const cpus = os.cpus();
  return { cpuModel: cpus[0]?.model, cores: cpus.length, memoryGiB: round(os.totalmem() / 2 ** 30, 1), loadAverageAtStart: os.loadavg().map((x) => round(x, 2)) };
}

function gitCommit() {
  try {
    const commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
    // Others edit the same tree: what runs is what was last built, so say how far that is from the commit.
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'apps', 'libs'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean).length;
    return { commit, changedFilesUnderAppsAndLibs: dirty };
  } catch {
    return undefined;
  }
}

async function main() {
  const opts = parseArgs(process.argv.slice(2));
  const hardStop = setTimeout(() => {
    log(`over --max-seconds ${opts['max-seconds']}: stopping everything`);
    process.kill(process.pid, 'SIGTERM'); // @keelson/testing's handler kills every child it tracks and exits
  }, opts['max-seconds'] * 1000);
  hardStop.unref();
  for (const f of ['e2e/dist/support/mesh.js', 'libs/stateless/dist/index.js', 'apps/gateway/dist/main.js', 'apps/session-agent/dist/main.js']) {
    if (!existsSync(join(ROOT, f))) throw new Error(`${f} is missing: build first (npx tsc -b tsconfig.json)`);
  }
  const { API_KEY, startMesh } = await import(join(ROOT, 'e2e/dist/support/mesh.js'));
  const { answerInvoke } = await import(join(ROOT, 'libs/stateless/dist/index.js'));
  const { OfflineModel, ProviderRegistry, builtinAgents } = await import(join(ROOT, 'libs/runtime/dist/index.js'));
  const { InlineGuard, DEFAULT_EFFECTIVE_POLICY } = await import(join(ROOT, 'libs/guard/dist/index.js'));
  const { freePort } = await import(join(ROOT, 'libs/testing/dist/index.js'));

  const startedAt = new Date();
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const profilePrefix = opts.profile ? join(ROOT, 'tmp', 'bench', 'profiles', `${stamp}-stateless`) : undefined;
  const profileFile = profilePrefix && `${profilePrefix}-${opts.profile}`;
  if (profilePrefix) mkdirSync(dirname(profilePrefix), { recursive: true });
  const report = {
    schema: 1,
    startedAt: startedAt.toISOString(),
    machine: machine(),
    node: process.version,
    git: gitCommit(),
    params: { ...opts, out: undefined, 'service-env': undefined, agent: AGENT },
    targets: TARGETS,
    rounds: [],
  };

  log('starting the whole mesh (startMesh: nats, redis, s3, gateway, session-agent, task-worker, memory, audit, guard)');
  const natsProfilePort = opts.profile === 'nats' ? await freePort() : undefined;
  const mesh = await startMesh({
    ...(natsProfilePort ? { natsArgs: ['--profile', String(natsProfilePort)] } : {}),
    env: {
      ...opts.serviceEnv,
      ...(opts.profile && opts.profile !== 'nats'
        ? {
            KEELSON_BENCH_PROFILE_SERVICE: opts.profile,
            KEELSON_BENCH_PROFILE_PREFIX: profilePrefix,
            NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --require ${join(ROOT, 'bench', 'lib', 'cpu-profile-one-service.cjs')}`.trim(),
          }
        : {}),
    },
  });
  let fastify;
  try {
    const pids = (extra = {}) => ({
      bench: process.pid,
      'nats-server': mesh.nats.pid,
      'redis-server': mesh.redis.pid,
      ...Object.fromEntries([...mesh.apps].map(([name, app]) => [name, app.pid])),
      ...extra,
    });
    // A service that died mid-run leaves only refused connections behind: say which, with its last words.
    const lastLogs = () =>
      [...mesh.apps]
        .map(([name, app]) => `${name} (pid ${app.pid}):\n  ${app.logs().slice(-5).join('\n  ')}`)
        .join('\n');
    const invokeUrl = `${mesh.base}/v1/agents/${AGENT}/invoke`;
    const auth = { authorization: `Bearer ${API_KEY}` };
    const body = (i) => ({ input: `hello number ${i}` });
    const closedLoop = async (url, headers, extraPids) => {
      await postLoad({ url, headers, concurrency: opts.concurrency, maxRequests: opts.warmup, body, okStatus: 200 });
      const meter = cpuMeter(pids(extraPids));
      const r = await postLoad({ url, headers, concurrency: opts.concurrency, durationMs: opts.seconds * 1000, body, okStatus: 200 });
      const cpu = meter.stop(r.accepted);
      if (r.accepted === 0) throw new Error(`no request to ${url} was answered 200: ${JSON.stringify(r.statuses)} ${JSON.stringify(r.errors)}\n${lastLogs()}`);
      return { ok: r.accepted, sent: r.sent, seconds: round(r.elapsedMs / 1000, 2), perSec: rate(r.accepted, r.elapsedMs), latency: percentiles(r.latencies), statuses: r.statuses, errors: r.errors, cpu };
    };
    const openLoopPhase = async (send) => {
      const meter = cpuMeter(pids());
      const r = await openLoop({ ratePerSec: opts.rate, durationMs: opts['rate-seconds'] * 1000, send });
      const cpu = meter.stop(r.ok);
      return { ok: r.ok, failed: r.failed, sent: r.sent, seconds: round(r.elapsedMs / 1000, 2), perSec: rate(r.ok, r.elapsedMs), latency: percentiles(r.latencies), senderLateness: percentiles(r.lateness), cpu };
    };

    // (d)'s runtime: what session-agent's InvokeResponder calls for an invoke, minus the NATS hop, the rollout
    // pick, metering and audit (those are part of the path measured against it).
    const agents = new Map(builtinAgents().map((a) => [a.id, a]));
    const inProcessDeps = {
      agents: { get: (id) => agents.get(id) },
      providers: new ProviderRegistry([new OfflineModel()]),
      guard: new InlineGuard({ policies: { effective: async () => DEFAULT_EFFECTIVE_POLICY }, onDecision: () => undefined }),
    };
    const invokeInProcess = async (i) => {
      const reply = await answerInvoke({ tenant: 'dev', agentId: AGENT, messages: [{ role: 'user', content: body(i).input }], cancelId: `cnl_${randomUUID().replace(/-/g, '')}` }, inProcessDeps);
      return reply.ok === true;
    };

    for (let n = 1; n <= opts.rounds; n++) {
      const profiling = profilePrefix && n === opts.rounds;
      const r = { round: n };
      log(`round ${n}: (a) bare Fastify hello world, ${opts.concurrency} clients, ${opts.seconds} s`);
      fastify = await startFastifyHello();
      r.fastify = await closedLoop(fastify.url, {}, { fastify: fastify.pid });
      await fastify.stop();
      fastify = undefined;
      log(`  ${r.fastify.perSec} req/s, p50 ${r.fastify.latency.p50Ms} ms`);

      // nats-server samples for a fixed time: (b), (c) and the pause between them.
      const natsProfile = profiling && natsProfilePort ? captureNatsProfile(natsProfilePort, opts.seconds + opts['rate-seconds'] + 2) : undefined;
      if (profiling && !natsProfile) {
        writeFileSync(`${profileFile}.start`, '');
        await new Promise((done) => setTimeout(done, 300)); // the preload polls every 100 ms
      }
      log(`round ${n}: (b) invoke through the gateway, ${opts.concurrency} clients, ${opts.seconds} s`);
      r.invokeMax = await closedLoop(invokeUrl, auth);
      log(`  ${r.invokeMax.perSec} invokes/s, p50 ${r.invokeMax.latency.p50Ms} ms, statuses ${JSON.stringify(r.invokeMax.statuses)}`);

      log(`round ${n}: (c) invoke through the gateway at ${opts.rate}/s for ${opts['rate-seconds']} s`);
      const poster = jsonPoster(invokeUrl, auth);
      r.invokeAtRate = await openLoopPhase(async (i) => (await poster.post(body(i))) === 200);
      r.invokeAtRate.statuses = poster.statuses;
      poster.close();
      log(`  p50 ${r.invokeAtRate.latency.p50Ms} ms, p99 ${r.invokeAtRate.latency.p99Ms} ms, p99.9 ${r.invokeAtRate.latency.p999Ms} ms, failed ${r.invokeAtRate.failed}`);
      if (natsProfile) r.natsProfile = await saveNatsProfile(await natsProfile, `${profileFile}.pb.gz`);
      else if (profiling) r.profile = await stopProfile(profileFile, opts.profile);

      log(`round ${n}: (d) answerInvoke in process at ${opts.rate}/s for ${opts['rate-seconds']} s`);
      for (let i = 0; i < opts.warmup; i++) await invokeInProcess(i);
      r.inProcessAtRate = await openLoopPhase(invokeInProcess);
      log(`  p50 ${r.inProcessAtRate.latency.p50Ms} ms, p99 ${r.inProcessAtRate.latency.p99Ms} ms`);

      r.throughputRatio = round(r.invokeMax.perSec / r.fastify.perSec, 3);
      r.addedP50Ms = round(r.invokeAtRate.latency.p50Ms - r.inProcessAtRate.latency.p50Ms, 2);
      r.addedP99Ms = round(r.invokeAtRate.latency.p99Ms - r.inProcessAtRate.latency.p99Ms, 2);
      r.met = {
        throughput: r.invokeMax.perSec >= TARGETS.invokesPerSec,
        addedP50: r.addedP50Ms <= TARGETS.addedP50Ms,
        addedP99: r.addedP99Ms <= TARGETS.addedP99Ms,
      };
      report.rounds.push(r);
    }
  } finally {
    clearTimeout(hardStop);
    await fastify?.stop();
    await mesh.stop().catch((err) => log(`mesh stop: ${err.message}`));
  }
  report.finishedAt = new Date().toISOString();
  report.machine.loadAverageAtEnd = os.loadavg().map((x) => round(x, 2));
  const out = resolve(ROOT, opts.out);
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(dirname(out), `${stamp}-stateless.raw.json`), `${JSON.stringify(report, null, 2)}\n`); // git-ignored
  console.log(table(report));
  const profiled = report.rounds.at(-1)?.profile;
  if (profiled) console.log(`\n${formatSummary(profiled, `CPU profile of ${profiled.process} (${profiled.file})`)}`);
  const natsProfiled = report.rounds.at(-1)?.natsProfile;
  if (natsProfiled) console.log(`\n${formatNatsSummary(natsProfiled, `CPU profile of nats-server (${natsProfiled.file})`)}`);
  console.log(`\nreport: ${relative(ROOT, out)}`);
}

/** Keeps nats-server's profile next to the services' (`go tool pprof` reads it too) and summarises it. */
function saveNatsProfile(gzipped, file) {
  writeFileSync(file, gzipped);
  return { process: 'nats-server', file: relative(ROOT, file), window: 'phases (b) and (c) of the last round', ...summarizeNatsProfile(gzipped, { top: 30 }) };
}

/** Asks the profiled service to write its profile, waits for it and summarises it. */
async function stopProfile(prefix, service) {
  writeFileSync(`${prefix}.stop`, '');
  const deadline = Date.now() + 30_000;
  while (!existsSync(`${prefix}.done`) && Date.now() < deadline) await new Promise((done) => setTimeout(done, 100));
  const status = existsSync(`${prefix}.done`) ? readFileSync(`${prefix}.done`, 'utf8') : 'timed out';
  for (const f of ['start', 'stop', 'done']) rmSync(`${prefix}.${f}`, { force: true });
  if (status !== 'ok') throw new Error(`the profile of ${service} was not written: ${status}`);
  const summary = summarizeProfile(JSON.parse(readFileSync(`${prefix}.cpuprofile`, 'utf8')), { top: 30 });
  return { process: service, file: relative(ROOT, `${prefix}.cpuprofile`), window: 'phases (b) and (c) of the last round', ...summary };
}

function table(report) {
  const fmt = (v, d = 1) => (typeof v === 'number' ? v.toFixed(d) : String(v ?? ''));
  const others = (cpu) => (cpu?.otherCpuS !== undefined ? `${fmt((100 * cpu.otherCpuS) / cpu.wallS, 0)}%` : '');
  const lines = [`Stateless invoke, ${report.machine.cores} cores (${report.machine.cpuModel}), node ${report.node}`];
  lines.push(`${'round / phase'.padEnd(52)} ${'req/s'.padStart(8)} ${'p50 ms'.padStart(8)} ${'p99 ms'.padStart(8)} ${'p99.9 ms'.padStart(9)} ${'busy'.padStart(5)} ${'others'.padStart(7)}`);
  for (const r of report.rounds) {
    const rows = [
      ['(a) bare Fastify, closed loop', r.fastify],
      ['(b) invoke via gateway, closed loop', r.invokeMax],
      [`(c) invoke via gateway, ${report.params.rate}/s open loop`, r.invokeAtRate],
      [`(d) answerInvoke in process, ${report.params.rate}/s`, r.inProcessAtRate],
    ];
    for (const [name, p] of rows) {
      lines.push(
        `${`${r.round} ${name}`.padEnd(52)} ${fmt(p.perSec, 0).padStart(8)} ${fmt(p.latency.p50Ms, 2).padStart(8)} ${fmt(p.latency.p99Ms, 2).padStart(8)} ${fmt(p.latency.p999Ms, 2).padStart(9)} ${`${fmt(p.cpu.machineBusyPct, 0)}%`.padStart(5)} ${others(p.cpu).padStart(7)}`,
      );
    }
    lines.push(
      `  invoke/s ÷ Fastify/s ${r.throughputRatio}; target >= ${report.targets.invokesPerSec}/s: ${r.met.throughput ? 'met' : 'missed'}` +
        `; added p50 ${r.addedP50Ms} ms (<= ${report.targets.addedP50Ms}: ${r.met.addedP50 ? 'met' : 'missed'})` +
        `, added p99 ${r.addedP99Ms} ms (<= ${report.targets.addedP99Ms}: ${r.met.addedP99 ? 'met' : 'missed'})`,
    );
  }
  lines.push('  (busy: the whole machine, all cores; others: CPU of processes this bench did not start, in % of one core)');
  return lines.join('\n');
}

main().then(
  () => process.exit(0),
  (err) => {
    log(`failed: ${err.stack ?? err}`);
    process.exit(1);
  },
);
