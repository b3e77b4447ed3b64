#!/usr/bin/env node
// CPU cost of node/V8 memory flags on one service's invoke code, without the mesh's noise: runs
// @keelson/stateless answerInvoke (offline model, inline guard on the default policy: what session-agent
// does per invoke) in child processes started with each flag set, alternating the sets for --rounds, and
// reports CPU ms per call (process.cpuUsage, so other processes' load on the shared cores changes it less
// than it changes throughput) and the peak RSS. A supplement to bench:stateless and bench (run.mjs), which
// measure the whole path with --service-env; see docs/benchmarks.md "Memory at rest".
//   node bench/v8-flags-cost.mjs [--calls 20000] [--rounds 3] [--set "name=flags"]...
import { execFileSync } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const CALLS = Number(arg('calls', 20_000));
const ROUNDS = Number(arg('rounds', 3));
const given = process.argv.flatMap((a, i) => (process.argv[i - 1] === '--set' ? [a] : []));
const SETS = (given.length ? given : ['none=', 'optimize-for-size=--optimize-for-size', 'semi-space-1=--max-semi-space-size=1']).map((s) => {
  const [name, flags = ''] = s.split(/=(.*)/s);
  return { name, flags: flags.split(/\s+/).filter(Boolean) };
});

// The child: CALLS invokes, 16 in flight, after 2,000 unmeasured ones (JIT). Prints one JSON line.
const child = `
const { answerInvoke } = require(${JSON.stringify(join(ROOT, 'libs/stateless/dist/index.js'))});
const { OfflineModel, ProviderRegistry, builtinAgents } = require(${JSON.stringify(join(ROOT, 'libs/runtime/dist/index.js'))});
const { InlineGuard, DEFAULT_EFFECTIVE_POLICY } = require(${JSON.stringify(join(ROOT, 'libs/guard/dist/index.js'))});
const { randomUUID } = require('node:crypto');
const agents = new Map(builtinAgents().map((a) => [a.id, a]));
const deps = { agents: { get: (id) => agents.get(id) }, providers: new ProviderRegistry([new OfflineModel()]),
  guard: new InlineGuard({ policies: { effective: async () => DEFAULT_EFFECTIVE_POLICY }, onDecision: () => undefined }) };
const call = (i) => answerInvoke({ tenant: 'dev', agentId: 'assistant', messages: [{ role: 'user', content: 'hello number ' + i }], cancelId: 'cnl_' + randomUUID().replace(/-/g, '') }, deps);
async function run(n) { let next = 0; await Promise.all(Array.from({ length: 16 }, async () => { while (next < n) { const r = await call(next++); if (r.ok !== true) throw new Error('invoke failed'); } })); }
(async () => {
  await run(2000);
  const cpu0 = process.cpuUsage(); const t0 = performance.now();
  await run(${CALLS});
  const cpu = process.cpuUsage(cpu0); const wall = performance.now() - t0;
  console.log(JSON.stringify({ cpuMsPerCall: (cpu.user + cpu.system) / 1000 / ${CALLS}, wallMs: wall, peakRssMB: process.resourceUsage().maxRSS / 1024 }));
})();
`;

const results = Object.fromEntries(SETS.map((s) => [s.name, []]));
for (let r = 0; r < ROUNDS; r++) {
  for (const set of SETS) {
    const out = JSON.parse(execFileSync(process.execPath, [...set.flags, '-e', child], { cwd: ROOT, encoding: 'utf8' }));
    results[set.name].push(out);
    console.error(`[v8-flags-cost] round ${r + 1} ${set.name}: ${out.cpuMsPerCall.toFixed(3)} ms CPU per call, peak RSS ${out.peakRssMB.toFixed(0)} MB`);
  }
}
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(results[SETS[0].name].map((x) => x.cpuMsPerCall));
const summary = SETS.map(({ name, flags }) => {
  const cpu = median(results[name].map((x) => x.cpuMsPerCall));
  return { name, flags: flags.join(' '), cpuMsPerCallMedian: Number(cpu.toFixed(4)), ratioToFirst: Number((cpu / base).toFixed(3)), peakRssMBMedian: Math.round(median(results[name].map((x) => x.peakRssMB))) };
});
console.log(JSON.stringify({ calls: CALLS, rounds: ROUNDS, node: process.version, summary }, null, 2));
