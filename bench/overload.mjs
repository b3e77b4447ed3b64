// Overload at twice capacity (issue 11): the mesh's stateless-invoke capacity (closed loop), the normal p99
// at half of it (open loop), then 2 x capacity open loop for ~20 s (what is admitted, what is shed and how,
// admitted latency against the normal p99, each process's peak RSS), then back to half capacity to see how
// soon latency is normal again. Results in bench/results/overload-latest.json; method in docs/benchmarks.md.
// Each phase also samples the gateway's /metrics every second (the invoke lane's limit, in flight, queued,
// event-loop delay, refusals by reason) and the CPU other processes took, to tell why a second shed.
// The session-agent's invoke responder is sampled the same way (its refusals by reason, its queue wait).
//   node bench/overload.mjs [--overload-seconds 20] [--capacity-seconds 8] [--gateway-env K=V,K=V] [--agent-env K=V] [--out file]
import http from 'node:http';
import { readFileSync, mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postLoad } from './lib/http-load.mjs';
import { benchKeys, startInfra, startServices } from './lib/mesh.mjs';
import { cpuMeter, latencySummary, now, rate, round } from './lib/stats.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const outAt = process.argv.indexOf('--out');
const OUT = outAt >= 0 ? process.argv[outAt + 1] : join(ROOT, 'bench', 'results', 'overload-latest.json');
const envAt = process.argv.indexOf('--gateway-env');
/** Extra gateway environment for what-if runs (e.g. ADMISSION_ADAPTIVE_LANES=invoke,task), recorded in the report. */
const gatewayEnv = envAt >= 0 ? Object.fromEntries(process.argv[envAt + 1].split(',').map((kv) => kv.split('='))) : {};
const agentEnvAt = process.argv.indexOf('--agent-env');
/** Extra session-agent environment (e.g. INVOKE_MAX_QUEUE_WAIT_MS=250), recorded in the report. */
const agentEnv = agentEnvAt >= 0 ? Object.fromEntries(process.argv[agentEnvAt + 1].split(',').map((kv) => kv.split('='))) : {};
const AGENT = 'assistant';
const TENANT = 'overload';

const arg = (name, fallback) => {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? Number(process.argv[at + 1]) : fallback;
};
const opts = {
  capacitySeconds: arg('capacity-seconds', 8),
  capacityConcurrency: arg('capacity-concurrency', 32),
  normalSeconds: arg('normal-seconds', 8),
  overloadSeconds: arg('overload-seconds', 20),
  recoverySeconds: arg('recovery-seconds', 15),
};
const log = (message) => console.log(`[overload] ${message}`);

/** Resident set size of a process in MiB, from /proc (undefined once it is gone). */
function rssMiB(pid) {
  try {
    const line = readFileSync(`/proc/${pid}/status`, 'utf8').split('\n').find((l) => l.startsWith('VmRSS:'));
    return line ? Number(line.split(/\s+/)[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Samples every process's RSS every 250 ms; stop() returns the peak of each, in MiB. */
function rssSampler(pids) {
  const peak = {};
  const sample = () => {
    for (const [name, pid] of Object.entries(pids)) {
      const mib = rssMiB(pid);
      if (mib !== undefined) peak[name] = Math.max(peak[name] ?? 0, mib);
    }
  };
  sample();
  const timer = setInterval(sample, 250);
  return {
    stop() {
      clearInterval(timer);
      sample();
      return Object.fromEntries(Object.entries(peak).map(([name, mib]) => [name, round(mib, 1)]));
    },
  };
}

/**
 * Open-loop load: `perSecond` invokes a second for `seconds`, each sent on schedule whether or not earlier
 * ones were answered (as real clients arrive), so a slow server is not let off by a slower client. Every
 * answer is recorded with its send time, status and whether it carried Retry-After and an error code.
 */
async function openLoop({ url, headers, perSecond, seconds }) {
  const target = new URL(url);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 2_048 });
  const answers = [];
  const pending = new Set();
  const body = Buffer.from(JSON.stringify({ input: 'how do I reset my password?' }));
  const send = () =>
    new Promise((resolve) => {
      const sentAt = now();
      const req = http.request(
        { agent, host: target.hostname, port: target.port, path: target.pathname, method: 'POST', headers: { ...headers, 'content-type': 'application/json', 'content-length': body.length } },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            let code;
            if (res.statusCode !== 200) {
              try {
                code = JSON.parse(Buffer.concat(chunks).toString('utf8')).error?.code;
              } catch {
                code = 'unparsable';
              }
            }
            answers.push({ sentAt, ms: now() - sentAt, status: res.statusCode, retryAfter: res.headers['retry-after'], code });
            resolve();
          });
        },
      );
      req.on('error', (err) => {
        answers.push({ sentAt, ms: now() - sentAt, status: 0, code: err.code ?? err.message });
        resolve();
      });
      req.setTimeout(30_000, () => req.destroy(new Error('timeout')));
      req.end(body);
    });
  const t0 = now();
  let sent = 0;
  while (now() - t0 < seconds * 1_000) {
    const due = Math.floor(((now() - t0) / 1_000) * perSecond);
    for (; sent < due; sent++) {
      const p = send();
      pending.add(p);
      void p.then(() => pending.delete(p));
    }
    await new Promise((resolve) => setTimeout(resolve, 1));
  }
  await Promise.all(pending);
  agent.destroy();
  return { t0, sent, elapsedMs: now() - t0, answers };
}

/** The series of a Prometheus text exposition whose names start with `prefix`: `name{labels}` -> value. */
function admissionMetrics(text, prefix = 'keelson_admission_') {
  const out = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(prefix)) continue;
    const at = line.lastIndexOf(' ');
    out.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return out;
}

/**
 * Every second of a phase: the invoke lane's limit, in flight and queued, the event-loop delay, the invoke
 * refusals of that second by reason (counter deltas), and the CPU processes outside the bench took. So a
 * second that shed says which rule shed it and what the machine was doing.
 */
function admissionSampler(base, pids, agentBase) {
  const rows = [];
  let last = new Map();
  let lastRpc = new Map();
  let meter = cpuMeter(pids);
  const t0 = now();
  const sample = async () => {
    const cpu = meter.stop();
    meter = cpuMeter(pids);
    let metrics;
    try {
      metrics = admissionMetrics(await (await fetch(`${base}/metrics`)).text());
    } catch {
      return;
    }
    const shed = {};
    for (const [key, value] of metrics) {
      const m = /^keelson_admission_shed_total\{(.*)\}$/.exec(key);
      if (!m || !m[1].includes('class="invoke"')) continue;
      const reason = /reason="([^"]+)"/.exec(m[1])?.[1];
      const delta = value - (last.get(key) ?? 0);
      if (reason && delta > 0) shed[reason] = delta;
    }
    // Series carry the service's default labels too, so match by name and the class label.
    const invoke = (name) => [...metrics].find(([key]) => key.startsWith(`${name}{`) && key.includes('class="invoke"'))?.[1];
    const loopDelay = [...metrics].find(([key]) => key.startsWith('keelson_admission_event_loop_delay_seconds'))?.[1];
    // The session-agent's invoke responder: its refusals of that second by reason, and how many it started
    // with their mean wait for a slot (histogram count and sum deltas).
    let rpc = new Map();
    try {
      rpc = admissionMetrics(await (await fetch(`${agentBase}/metrics`)).text(), 'keelson_rpc_');
    } catch {
      // a second without the responder's figures
    }
    const rpcDelta = (pattern) => {
      let total = 0;
      for (const [key, value] of rpc) if (pattern.test(key)) total += value - (lastRpc.get(key) ?? 0);
      return total;
    };
    const responderShed = {};
    for (const reason of ['queue_full', 'standing_queue', 'queue_timeout']) {
      const n = rpcDelta(new RegExp(`^keelson_rpc_shed_total\\{.*reason="${reason}"`));
      if (n > 0) responderShed[reason] = n;
    }
    const started = rpcDelta(/^keelson_rpc_queue_wait_seconds_count\{/);
    const waitedS = rpcDelta(/^keelson_rpc_queue_wait_seconds_sum\{/);
    lastRpc = rpc;
    rows.push({
      second: Math.round((now() - t0) / 1_000),
      limit: invoke('keelson_admission_limit'),
      inFlight: invoke('keelson_admission_in_flight'),
      queued: invoke('keelson_admission_queued'),
      eventLoopDelayMs: loopDelay === undefined ? undefined : round(loopDelay * 1_000, 1),
      shed,
      responder: { started, meanWaitMs: started > 0 ? round((waitedS / started) * 1_000, 1) : undefined, shed: responderShed },
      otherCpuS: cpu.otherCpuS,
    });
    last = metrics;
  };
  const timer = setInterval(() => void sample(), 1_000);
  void sample();
  return {
    stop() {
      clearInterval(timer);
      // The first row only sets the counters' starting point.
      const series = rows.slice(1);
      const shedByReason = {};
      for (const row of series) for (const [reason, n] of Object.entries(row.shed)) shedByReason[reason] = (shedByReason[reason] ?? 0) + n;
      const responderShedByReason = {};
      for (const row of series) {
        for (const [reason, n] of Object.entries(row.responder.shed)) responderShedByReason[reason] = (responderShedByReason[reason] ?? 0) + n;
      }
      return { shedByReason, responderShedByReason, perSecond: series };
    },
  };
}

/**
 * The machine's TCP listen-queue counters (/proc/net/netstat, TcpExt): SYNs dropped because a listening
 * socket's accept queue was full, and SYN retransmits. Machine-wide, so other processes' sockets count too.
 */
function tcpCounters() {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n').filter((l) => l.startsWith('TcpExt:'));
    const names = lines[0].split(/\s+/).slice(1);
    const values = lines[1].split(/\s+/).slice(1).map(Number);
    const at = (name) => values[names.indexOf(name)];
    return { listenOverflows: at('ListenOverflows'), listenDrops: at('ListenDrops'), synRetrans: at('TCPSynRetrans') };
  } catch {
    return undefined;
  }
}

const INVOKE_ROUTE = 'route="/v1/agents/:agentId/invoke"';

/** The gateway's own invoke latency histogram, by status class: le -> cumulative count. */
async function gatewayInvokeHistogram(base) {
  const out = {};
  try {
    const text = await (await fetch(`${base}/metrics`)).text();
    for (const line of text.split('\n')) {
      if (!line.startsWith('keelson_http_request_duration_seconds_bucket{') || !line.includes(INVOKE_ROUTE)) continue;
      const statusClass = /status_class="([^"]+)"/.exec(line)?.[1];
      const le = /le="([^"]+)"/.exec(line)?.[1];
      const value = Number(line.slice(line.lastIndexOf(' ') + 1));
      out[statusClass] ??= {};
      out[statusClass][le] = (out[statusClass][le] ?? 0) + value;
    }
  } catch {
    // no figures for this phase
  }
  return out;
}

/**
 * The gateway-side latency of a phase (from the request reaching Fastify to the answer: no TCP connect, no
 * listen queue), from the histogram's change over the phase: count and the bucket bound under which 50 % and
 * 99 % fell.
 */
function histogramDelta(before, after) {
  const out = {};
  for (const [statusClass, buckets] of Object.entries(after)) {
    const les = Object.keys(buckets).sort((a, b) => (a === '+Inf' ? 1 : b === '+Inf' ? -1 : Number(a) - Number(b)));
    const delta = les.map((le) => [le, buckets[le] - (before[statusClass]?.[le] ?? 0)]);
    const count = delta.at(-1)?.[1] ?? 0;
    const bound = (q) => delta.find(([, n]) => n >= q * count)?.[0];
    const ms = (le) => (le === undefined || le === '+Inf' ? le : round(Number(le) * 1_000, 1));
    if (count > 0) out[statusClass] = { count, p50AtMostMs: ms(bound(0.5)), p99AtMostMs: ms(bound(0.99)) };
  }
  return out;
}

/** What an open-loop phase saw: rates, statuses, refusals and their headers, admitted latency. */
function summarise(run) {
  const ok = run.answers.filter((a) => a.status === 200);
  const refused = run.answers.filter((a) => a.status === 503 || a.status === 429);
  const other = run.answers.filter((a) => a.status !== 200 && a.status !== 503 && a.status !== 429);
  const statuses = {};
  for (const a of run.answers) statuses[a.status] = (statuses[a.status] ?? 0) + 1;
  const codes = {};
  for (const a of refused) codes[a.code] = (codes[a.code] ?? 0) + 1;
  return {
    sent: run.sent,
    offeredPerSec: rate(run.sent, run.elapsedMs),
    admittedPerSec: rate(ok.length, run.elapsedMs),
    shedPerSec: rate(refused.length, run.elapsedMs),
    statuses,
    refusalCodes: codes,
    refusalsWithRetryAfter: refused.filter((a) => /^\d+$/.test(a.retryAfter ?? '')).length,
    refusals: refused.length,
    refusalLatency: latencySummary(refused.map((a) => a.ms)),
    otherErrors: other.length,
    admitted: latencySummary(ok.map((a) => a.ms)),
  };
}

/** Per second of a phase: admitted p99 and errors, to see when latency is back to normal. */
function perSecond(run) {
  const buckets = new Map();
  for (const a of run.answers) {
    const second = Math.floor((a.sentAt - run.t0) / 1_000);
    const b = buckets.get(second) ?? { ms: [], errors: 0 };
    if (a.status === 200) b.ms.push(a.ms);
    else b.errors++;
    buckets.set(second, b);
  }
  return [...buckets.entries()].sort((x, y) => x[0] - y[0]).map(([second, b]) => ({ second, p99Ms: latencySummary(b.ms).p99Ms, errors: b.errors }));
}

async function main() {
  const keys = benchKeys([TENANT]);
  const report = {
    at: new Date().toISOString(),
    node: process.version,
    cores: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    params: opts,
    admission:
      Object.keys(gatewayEnv).length === 0
        ? 'gateway defaults (ADMISSION_* unset: invoke lane at its ceiling 256, adaptive task lane, queue 128, wait 200 ms, event-loop delay 150 ms)'
        : { gatewayEnv },
    responder:
      Object.keys(agentEnv).length === 0
        ? 'session-agent defaults (INVOKE_* unset: 64 at once, queue 256, wait 100 ms, refuse newcomers while the oldest waited 50 ms)'
        : { agentEnv },
  };
  const infra = await startInfra();
  let services;
  try {
    log('starting gateway, one session-agent, one task-worker');
    services = await startServices(infra, { keys, taskWorkers: 1, sessionAgents: 1, envFor: (name) => (name === 'gateway-1' ? gatewayEnv : name === 'session-agent-1' ? agentEnv : {}) });
    const url = `${services.base}/v1/agents/${AGENT}/invoke`;
    const headers = { authorization: `Bearer ${keys[TENANT]}` };
    const pids = { bench: process.pid, 'nats-server': infra.nats.pid, 'redis-server': infra.redis.pid, ...Object.fromEntries([...services.apps].map(([n, a]) => [n, a.pid])) };
    const phase = async (name, fn) => {
      const meter = cpuMeter(pids);
      const rss = rssSampler(pids);
      const admission = admissionSampler(services.base, pids, services.bases.get('session-agent-1'));
      const tcpBefore = tcpCounters();
      const histogramBefore = await gatewayInvokeHistogram(services.base);
      const result = await fn();
      const tcpAfter = tcpCounters();
      const gatewaySide = histogramDelta(histogramBefore, await gatewayInvokeHistogram(services.base));
      const tcp = tcpBefore && tcpAfter ? Object.fromEntries(Object.keys(tcpAfter).map((k) => [k, tcpAfter[k] - tcpBefore[k]])) : undefined;
      return { name, result, cpu: meter.stop(), peakRssMiB: rss.stop(), admission: { ...admission.stop(), gatewaySide, tcp } };
    };

    await postLoad({ url, headers, concurrency: 8, durationMs: 2_000, body: () => ({ input: 'warm up' }), okStatus: 200 });
    log(`capacity: closed loop, ${opts.capacityConcurrency} clients, ${opts.capacitySeconds} s`);
    const capacity = await phase('capacity', () =>
      postLoad({ url, headers, concurrency: opts.capacityConcurrency, durationMs: opts.capacitySeconds * 1_000, body: (i) => ({ input: `question ${i}` }), okStatus: 200 }),
    );
    const capacityPerSec = rate(capacity.result.accepted, capacity.result.elapsedMs);
    report.capacity = { perSec: capacityPerSec, statuses: capacity.result.statuses, latency: latencySummary(capacity.result.latencies), cpu: capacity.cpu, admission: capacity.admission };
    log(`  ${capacityPerSec} invokes/s`);

    const half = Math.max(1, Math.round(capacityPerSec / 2));
    log(`normal: open loop at ${half}/s (half capacity), ${opts.normalSeconds} s`);
    const normal = await phase('normal', () => openLoop({ url, headers, perSecond: half, seconds: opts.normalSeconds }));
    report.normal = { ...summarise(normal.result), cpu: normal.cpu, peakRssMiB: normal.peakRssMiB, admission: normal.admission };
    const normalP99 = report.normal.admitted.p99Ms;
    log(`  p99 ${normalP99} ms; at the gateway ${JSON.stringify(normal.admission.gatewaySide)}`);

    const double = Math.round(capacityPerSec * 2);
    log(`overload: open loop at ${double}/s (2 x capacity), ${opts.overloadSeconds} s`);
    const overload = await phase('overload', () => openLoop({ url, headers, perSecond: double, seconds: opts.overloadSeconds }));
    report.overload = { ...summarise(overload.result), perSecond: perSecond(overload.result), cpu: overload.cpu, peakRssMiB: overload.peakRssMiB, admission: overload.admission };
    report.overload.admittedP99OverNormalP99 = round(report.overload.admitted.p99Ms / normalP99, 2);
    log(`  at the gateway: ${JSON.stringify(overload.admission.gatewaySide)}; machine TCP: ${JSON.stringify(overload.admission.tcp)}`);
    log(`  admitted ${report.overload.admittedPerSec}/s p99 ${report.overload.admitted.p99Ms} ms (${report.overload.admittedP99OverNormalP99} x normal), shed ${report.overload.shedPerSec}/s gateway ${JSON.stringify(overload.admission.shedByReason)} responder ${JSON.stringify(overload.admission.responderShedByReason)}`);

    log(`recovery: back to ${half}/s, ${opts.recoverySeconds} s`);
    const recovery = await phase('recovery', () => openLoop({ url, headers, perSecond: half, seconds: opts.recoverySeconds }));
    const seconds = perSecond(recovery.result);
    // Recovered: the first second from which every later second has no error and a p99 within 1.5 x normal.
    const bound = 1.5 * normalP99;
    const firstGood = seconds.findIndex((_, i) => seconds.slice(i).every((s) => s.errors === 0 && (s.p99Ms ?? 0) <= bound));
    report.recovery = {
      ...summarise(recovery.result),
      perSecond: seconds,
      recoveredWithinSeconds: firstGood < 0 ? null : seconds[firstGood].second,
      criterion: 'every later 1-s bucket error-free with admitted p99 <= 1.5 x normal p99',
      cpu: recovery.cpu,
      peakRssMiB: recovery.peakRssMiB,
      admission: recovery.admission,
    };
    report.processesAliveAtEnd = Object.fromEntries(Object.entries(pids).map(([n, pid]) => [n, rssMiB(pid) !== undefined]));
    log(`  recovered within ${report.recovery.recoveredWithinSeconds} s; recovery p99 ${report.recovery.admitted.p99Ms} ms, refusals ${report.recovery.refusals} ${JSON.stringify(recovery.admission.shedByReason)}`);
    // Written before the mesh stops: a process slow to stop must not cost the run's figures.
    mkdirSync(dirname(OUT), { recursive: true });
    writeFileSync(OUT, `${JSON.stringify(report, null, 2)}\n`);
    log(`written to ${OUT}`);
  } finally {
    // The harness's child processes are unref'd: without this, node could exit (code 0) while one is still
    // being stopped, and skip whatever follows.
    const keepAlive = setInterval(() => undefined, 1_000);
    const stopping = performance.now();
    await services?.stop();
    await infra.stop();
    clearInterval(keepAlive);
    log(`mesh stopped in ${Math.round(performance.now() - stopping)} ms`);
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
