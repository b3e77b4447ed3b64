#!/usr/bin/env node
// Time to first token and per-chunk overhead of the gateway path (OpenAI-compatible endpoint -> gateway ->
// session-agent -> provider -> run log -> gateway -> client) against the provider server alone, in one run.
// The provider is the local OpenAI wire-protocol server from @keelson/testing, so the model costs nothing
// and what is measured is Keelson's own path. Loopback only; bounded; stops everything it started.
// Usage: node bench/ttft.mjs [--requests 200] [--chunks 20] [--chunk-delay-ms 5]
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startFakeOpenAI } from '../libs/testing/dist/index.js';
import { API_KEY, startMesh } from '../e2e/dist/support/mesh.js';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
};
const REQUESTS = arg('requests', 200);
const CHUNKS = arg('chunks', 20);
const CHUNK_DELAY_MS = arg('chunk-delay-ms', 5);
const WARMUP = 20;

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
const mesh = await startMesh({ taskWorkers: 0, env: { AGENTS_DIR: join(dir, 'agents'), OPENAI_BASE_URL: fake.baseUrl } });
try {
  const direct = () =>
    timeStream(`${fake.baseUrl}/chat/completions`, {}, { model: 'bench-model', stream: true, messages: [{ role: 'user', content: 'go' }] });
  const viaGateway = () =>
    timeStream(
      `${mesh.base}/v1/chat/completions`,
      { authorization: `Bearer ${API_KEY}` },
      { model: 'oracle', stream: true, messages: [{ role: 'user', content: 'go' }] },
    );
  for (let i = 0; i < WARMUP; i++) {
    await direct();
    await viaGateway();
  }
  const base = [];
  const keel = [];
  // Interleaved, so both paths see the same machine load.
  for (let i = 0; i < REQUESTS; i++) {
    base.push(await direct());
    keel.push(await viaGateway());
  }
  const row = (name, xs) => ({
    path: name,
    'ttft p50 ms': pct(xs.map((x) => x.first), 50).toFixed(2),
    'ttft p99 ms': pct(xs.map((x) => x.first), 99).toFixed(2),
    'total p50 ms': pct(xs.map((x) => x.total), 50).toFixed(2),
    'content chunks': pct(xs.map((x) => x.chunks), 50),
  });
  console.table([row('provider server alone', base), row('through Keelson', keel)]);
  const added = pct(keel.map((x) => x.first), 50) - pct(base.map((x) => x.first), 50);
  const perChunk = (pct(keel.map((x) => x.total), 50) - pct(base.map((x) => x.total), 50)) / CHUNKS;
  console.log(`added time to first token, p50: ${added.toFixed(2)} ms`);
  console.log(`added time per upstream chunk, p50 of totals / ${CHUNKS}: ${perChunk.toFixed(3)} ms`);
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/ttft-latest.json',
    JSON.stringify({ at: new Date().toISOString(), node: process.version, requests: REQUESTS, chunks: CHUNKS, chunkDelayMs: CHUNK_DELAY_MS, rows: [row('provider', base), row('keelson', keel)], addedTtftP50Ms: added, addedPerChunkMs: perChunk }, null, 2),
  );
} finally {
  await mesh.stop();
  await fake.stop();
}
