#!/usr/bin/env node
// Time to first token and per-chunk overhead of the gateway path (OpenAI-compatible endpoint -> gateway ->
// session-agent -> provider -> run log -> gateway -> client) against the provider server alone, in one run.
// The provider is the local OpenAI wire-protocol server from @keelson/testing, so the model costs nothing
// and what is measured is Keelson's own path. The whole mesh runs (e2e's startMesh: every service, the guard
// inline in the session-agent). Loopback only; bounded by --max-seconds; stops everything it started.
// Usage: node bench/ttft.mjs [--requests 200] [--chunks 20] [--chunk-delay-ms 5] [--max-seconds 300]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startFakeOpenAI } from '../libs/testing/dist/index.js';
import { API_KEY, OTHER_TENANT_KEY, startMesh } from '../e2e/dist/support/mesh.js';
import { cpuMeter } from './lib/stats.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 200);
const CHUNKS = arg('chunks', 20);
const CHUNK_DELAY_MS = arg('chunk-delay-ms', 5);
const MAX_SECONDS = arg('max-seconds', 300);
const WARMUP = 20;
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const hardStop = setTimeout(() => {
  console.error(`ttft: over --max-seconds ${MAX_SECONDS}; stopping everything`);
  process.kill(process.pid, 'SIGTERM'); // @keelson/testing's handler kills every child it started and exits
}, MAX_SECONDS * 1000);
hardStop.unref();

const words = Array.from({ length: CHUNKS }, (_, i) => `w${i} `);

/** Streams one chat completion; returns ms to the first content chunk, ms to the end, content chunks seen. */
async function timeStream(url, headers, body) {
  const t0 = performance.now();
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  if (res.status !== 200) throw new Error(`${url} answered ${res.status}: ${await res.text()}`);
  const decoder = new TextDecoder();
  let first;
  let chunks = 0;
  let buffer = '';
  for await (const part of res.body) {
    buffer += decoder.decode(part, { stream: true });
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const event = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = event.split('\n').find((l) => l.startsWith('data: '))?.slice(6);
      if (!data || data === '[DONE]') continue;
      if (JSON.parse(data).choices?.[0]?.delta?.content) {
        chunks++;
        first ??= performance.now() - t0;
      }
    }
  }
  return { first, total: performance.now() - t0, chunks };
}

const pct = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
};

const fake = await startFakeOpenAI([{ text: words, chunkDelayMs: CHUNK_DELAY_MS }]);
const dir = mkdtempSync(join(tmpdir(), 'keelson-ttft-'));
mkdirSync(join(dir, 'agents'));
writeFileSync(
  join(dir, 'agents', 'oracle.json'),
  JSON.stringify({
    id: 'oracle',
    version: '1',
    description: 'bench agent on the local OpenAI wire-protocol server',
    model: { provider: 'openai', name: 'bench-model' },
    systemPrompt: 'Answer.',
    limits: { maxOutputTokens: 1024, maxSteps: 1, timeoutMs: 30_000 },
  }),
);
const mesh = await startMesh({ env: { AGENTS_DIR: join(dir, 'agents'), OPENAI_BASE_URL: fake.baseUrl } });
try {
  const direct = () =>
    timeStream(`${fake.baseUrl}/chat/completions`, {}, { model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'go' }] });
  const viaGateway = () =>
    timeStream(
      `${mesh.base}/v1/chat/completions`,
      { authorization: `Bearer ${API_KEY}` },
      { model: 'oracle', stream: true, messages: [{ role: 'user', content: 'go' }] },
    );
  // A second tenant whose policy turns the output filter off (the input check stays on): its figure is the
  // gateway path's transport alone, without the filter's hold-back (256 characters + 128 before a release).
  const policy = await fetch(`${mesh.base}/v1/guard/policy`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${OTHER_TENANT_KEY}` },
    body: JSON.stringify({ output: { enabled: false } }),
  });
  if (policy.status !== 200) throw new Error(`PUT /v1/guard/policy answered ${policy.status}: ${await policy.text()}`);
  const viaGatewayNoFilter = () =>
    timeStream(
      `${mesh.base}/v1/chat/completions`,
      { authorization: `Bearer ${OTHER_TENANT_KEY}` },
      { model: 'oracle', stream: true, messages: [{ role: 'user', content: 'go' }] },
    );
  for (let i = 0; i < WARMUP; i++) {
    await direct();
    await viaGateway();
    await viaGatewayNoFilter();
  }
  const base = [];
  const keel = [];
  const keelNoFilter = [];
  const pids = { bench: process.pid, 'nats-server': mesh.nats.pid, 'redis-server': mesh.redis.pid, ...Object.fromEntries([...mesh.apps].map(([name, app]) => [name, app.pid])) };
  const meter = cpuMeter(pids);
  // Interleaved, so every path sees the same machine load.
  for (let i = 0; i < REQUESTS; i++) {
    base.push(await direct());
    keel.push(await viaGateway());
    keelNoFilter.push(await viaGatewayNoFilter());
  }
  const cpu = meter.stop(REQUESTS);
  const row = (name, xs) => ({
    path: name,
    'ttft p50 ms': pct(xs.map((x) => x.first), 50).toFixed(2),
    'ttft p99 ms': pct(xs.map((x) => x.first), 99).toFixed(2),
    'total p50 ms': pct(xs.map((x) => x.total), 50).toFixed(2),
    'content chunks': pct(xs.map((x) => x.chunks), 50),
  });
  console.table([row('provider server alone', base), row('through Keelson', keel), row('through Keelson, output filter off', keelNoFilter)]);
  const added = pct(keel.map((x) => x.first), 50) - pct(base.map((x) => x.first), 50);
  // The same figure taken pair by pair (each gateway request against the direct one just before it).
  const addedPairedP50 = pct(keel.map((x, i) => x.first - base[i].first), 50);
  const addedNoFilter = pct(keelNoFilter.map((x) => x.first), 50) - pct(base.map((x) => x.first), 50);
  const perChunk = (pct(keel.map((x) => x.total), 50) - pct(base.map((x) => x.total), 50)) / CHUNKS;
  console.log(`added time to first token, p50: ${added.toFixed(2)} ms`);
  console.log(`added time to first token, p50 of the paired differences: ${addedPairedP50.toFixed(2)} ms`);
  console.log(`added time to first token with the output filter off, p50: ${addedNoFilter.toFixed(2)} ms`);
  console.log(`machine busy ${cpu.machineBusyPct}%, other processes ${((100 * (cpu.otherCpuS ?? 0)) / cpu.wallS).toFixed(0)}% of one core`);
  console.log(`added time per upstream chunk, p50 of totals / ${CHUNKS}: ${perChunk.toFixed(3)} ms`);
  mkdirSync(join(ROOT, 'bench/results'), { recursive: true });
  writeFileSync(
    join(ROOT, 'bench/results/ttft-latest.json'),
    `${JSON.stringify(
      {
        at: new Date().toISOString(),
        node: process.version,
        cores: cpus().length,
        requests: REQUESTS,
        chunks: CHUNKS,
        chunkDelayMs: CHUNK_DELAY_MS,
        rows: [row('provider', base), row('keelson', keel), row('keelson, output filter off', keelNoFilter)],
        addedTtftP50Ms: added,
        addedTtftOutputFilterOffP50Ms: addedNoFilter,
        addedTtftPairedP50Ms: addedPairedP50,
        targetAddedTtftP50Ms: 3,
        addedPerChunkMs: perChunk,
        cpu,
      },
      null,
      2,
    )}\n`,
  );
} finally {
  clearTimeout(hardStop);
  await mesh.stop();
  await fake.stop();
}
