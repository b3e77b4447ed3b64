#!/usr/bin/env node
// Counts the Redis commands each unit of work costs, per process and per command (Lua scripts by name), by
// watching the bench's own redis-server with MONITOR while the work runs one request at a time. Baseline in
// the same run: an idle window of the same length, whose background commands (rollout refreshes, health
// checks) are subtracted. Every command on these paths is awaited before the next one that depends on it, so
// a command is a round trip; commands a client sends in one pipeline would show with the same timestamp and
// are reported as `pipelined`.
// Usage: node bench/redis-round-trips.mjs [--turns 40] (even)
import { spawn, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { API_KEY, startMesh } from '../e2e/dist/support/mesh.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const N = arg('turns', 40);
const HARD_LIMIT_MS = 240_000;
const hardLimit = setTimeout(() => {
  console.error(`redis-round-trips: over ${HARD_LIMIT_MS / 1000} s, giving up`);
  process.exit(2);
}, HARD_LIMIT_MS);
hardLimit.unref();

/** SHA1 of every Lua script the state lib defines, so EVALSHA lines can be named. */
async function loadScripts() {
  const names = new Map();
  const add = (name, source) => names.set(createHash('sha1').update(source).digest('hex'), name);
  const state = await import('../libs/state/dist/session-scripts.js');
  for (const [name, source] of Object.entries(state)) if (typeof source === 'string') add(name, source);
  for (const file of ['state/dist/task-scripts.js', 'state/dist/approval-scripts.js', 'cost/dist/rate-limits/rate-limit-script.js', 'cost/dist/budgets/budget-scripts.js']) {
    const mod = await import(`../libs/${file}`);
    for (const [name, source] of Object.entries(mod)) if (typeof source === 'string') add(name, source);
  }
  return names;
}

/** MONITOR as a child process; returns the lines seen between start() and stop(). */
function monitor(port) {
  const child = spawn('redis-cli', ['-p', String(port), 'monitor'], { stdio: ['ignore', 'pipe', 'inherit'] });
  let lines = [];
  let buffer = '';
  child.stdout.on('data', (chunk) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop();
    lines.push(...parts);
  });
  return {
    ready: new Promise((resolve) => setTimeout(resolve, 300)),
    take() {
      const out = lines;
      lines = [];
      return out;
    },
    stop: () => child.kill(),
  };
}

/** Client address -> client name, from CLIENT LIST. */
function clientNames(port) {
  const out = execFileSync('redis-cli', ['-p', String(port), 'client', 'list'], { encoding: 'utf8' });
  const names = new Map();
  for (const line of out.split('\n')) {
    const addr = /addr=(\S+)/.exec(line)?.[1];
    const name = /name=(\S*)/.exec(line)?.[1];
    if (addr) names.set(addr, name || 'unnamed');
  }
  return names;
}

const LINE = /^(\d+\.\d+) \[\d+ ([^\]]+)\] "([^"]+)"(?: "([^"]*)")?/;

function tally(lines, clients, scripts) {
  const byKey = new Map();
  let pipelined = 0;
  let last;
  for (const line of lines) {
    const m = LINE.exec(line);
    if (!m) continue;
    const [, ts, addr, cmd, first] = m;
    const client = clients.get(addr) ?? addr;
    const upper = cmd.toUpperCase();
    const what = upper === 'EVALSHA' ? `EVALSHA ${scripts.get(first) ?? first.slice(0, 8)}` : upper;
    if (upper === 'CLIENT' || upper === 'MONITOR') continue;
    const key = `${client} ${what}`;
    byKey.set(key, (byKey.get(key) ?? 0) + 1);
    if (last && last.addr === addr && last.ts === ts) pipelined++;
    last = { addr, ts };
  }
  return { byKey, pipelined };
}

/** Net commands per unit of work, by `client command`. Commands a Lua script runs (client `lua`) are not round trips. */
function perUnit(work, idle, units) {
  const rows = [];
  const keys = new Set([...work.byKey.keys(), ...idle.byKey.keys()]);
  let inScripts = 0;
  for (const key of keys) {
    if (key.startsWith('lua ')) {
      inScripts += ((work.byKey.get(key) ?? 0) - (idle.byKey.get(key) ?? 0)) / units;
      continue;
    }
    const net = ((work.byKey.get(key) ?? 0) - (idle.byKey.get(key) ?? 0)) / units;
    if (Math.abs(net) >= 0.05) rows.push({ what: key, perUnit: Math.round(net * 100) / 100, work: work.byKey.get(key) ?? 0, idle: idle.byKey.get(key) ?? 0 });
  }
  rows.sort((a, b) => b.perUnit - a.perUnit);
  return { rows, roundTrips: Math.round(rows.reduce((s, r) => s + r.perUnit, 0) * 100) / 100, commandsInScripts: Math.round(inScripts * 10) / 10 };
}

const scripts = await loadScripts();
const mesh = await startMesh({ taskWorkers: 1 });
const port = Number(new URL(mesh.redis.url).port);
const headers = { 'content-type': 'application/json', authorization: `Bearer ${API_KEY}` };
const post = async (path, body) => {
  const res = await fetch(`${mesh.base}${path}`, { method: 'POST', headers, body: JSON.stringify(body) });
  const json = await res.json().catch(() => undefined);
  if (res.status >= 300) throw new Error(`${path} answered ${res.status}: ${JSON.stringify(json)}`);
  return json;
};
const results = {};
const mon = monitor(port);
try {
  await mon.ready;
  const { sessionId } = await post('/v1/sessions', { agentId: 'assistant' });
  for (let i = 0; i < 5; i++) await post(`/v1/sessions/${sessionId}/messages`, { content: `warm-up ${i}` });
  for (let i = 0; i < 5; i++) await post('/v1/agents/assistant/invoke', { input: `warm-up ${i}` });

  const measure = async (name, one) => {
    await new Promise((r) => setTimeout(r, 500));
    mon.take();
    const t0 = performance.now();
    for (let i = 0; i < N; i++) await one(i);
    await new Promise((r) => setTimeout(r, 300)); // the commit and run-record writes that follow the reply
    const workMs = performance.now() - t0;
    const clients = clientNames(port);
    const work = tally(mon.take(), clients, scripts);
    // Baseline: the same length of time with no requests.
    await new Promise((r) => setTimeout(r, workMs));
    const idle = tally(mon.take(), clientNames(port), scripts);
    results[name] = { units: N, ...perUnit(work, idle, N), pipelinedPerUnit: Math.round(((work.pipelined - idle.pipelined) / N) * 100) / 100 };
  };
  await measure('session turn', (i) => post(`/v1/sessions/${sessionId}/messages`, { content: `turn ${i}` }));
  // Two messages at once: the second finds the session busy, queues, and its runner has to read the session.
  await measure('two session turns sent together (per turn)', async (i) => {
    if (i % 2 === 0) await Promise.all([0, 1].map((k) => post(`/v1/sessions/${sessionId}/messages`, { content: `pair ${i} ${k}` })));
  });
  await measure('stateless invoke', (i) => post('/v1/agents/assistant/invoke', { input: `call ${i}` }));
} finally {
  mon.stop();
  await mesh.stop().catch((err) => console.error(err.message));
}

for (const [name, r] of Object.entries(results)) {
  console.log(`\n${name}: ${r.roundTrips} Redis round trips per unit (pipelined: ${r.pipelinedPerUnit}; commands run inside scripts: ${r.commandsInScripts})`);
  for (const row of r.rows) console.log(`  ${row.perUnit.toFixed(2).padStart(6)}  ${row.what}`);
}
mkdirSync('bench/results', { recursive: true });
writeFileSync('bench/results/redis-round-trips-latest.json', JSON.stringify({ at: new Date().toISOString(), n: N, results }, null, 2) + '\n');
