#!/usr/bin/env node
// Recall@10 of the embedded memory store's ANN search (LanceDB IVF_PQ, as LanceDbStore builds it) against
// exact search on the same table, and query latency p50/p99 of both, at 10k and 100k memories; the same for
// searches limited to one user's namespace (a turn's recall).
// Vectors come from the offline embedder (384-dim feature hashing) over generated sentences, so the run
// needs no model and no network; it is deterministic (seeded) apart from timing.
// Usage: node bench/memory-recall.mjs [--quick] [--sizes 10000,100000] [--queries 200]
// Build first (npx tsc -b libs/memory). Writes bench/results/memory-recall-latest.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LanceDbStore, OfflineEmbedder } from '../libs/memory/dist/index.js';
import { rng } from './lib/random.mjs';

const argv = process.argv.slice(2);
const has = (name) => argv.includes(`--${name}`);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const QUICK = has('quick');
const SIZES = arg('sizes', QUICK ? '10000' : '10000,100000').split(',').map(Number);
const QUERIES = Number(arg('queries', QUICK ? 100 : 200));
const TOP_K = 10;
const WARMUP = 10;

const syllables = ['ka', 'lo', 'mi', 'ra', 'ten', 'vo', 'shi', 'pa', 'dor', 'el', 'un', 'qui', 'bar', 'fen', 'gi', 'zu', 'hal', 'ost', 'rin', 'ta'];
function makeWords(random, n) {
  const words = new Set();
  while (words.size < n) {
    const len = 2 + Math.floor(random() * 2);
    let w = '';
    for (let i = 0; i < len; i++) w += syllables[Math.floor(random() * syllables.length)];
    words.add(w);
  }
  return [...words];
}
/** Zipf-like pick: low indices much more often, as in natural text. */
const zipf = (random, list) => list[Math.min(list.length - 1, Math.floor(list.length * random() ** 2.5))];
const templates = [
  (p) => `The user ${p.verb} ${p.adj} ${p.noun} in ${p.place}`,
  (p) => `Remember that the ${p.noun} for ${p.place} is ${p.adj} and ${p.adj2}`,
  (p) => `My ${p.noun} is ${p.adj} since the ${p.noun2} trip to ${p.place}`,
  (p) => `I ${p.verb} the ${p.noun} with ${p.noun2} every ${p.day}`,
  (p) => `Meeting about ${p.noun} and ${p.noun2} moved to ${p.day} at ${p.place}`,
];
function generator(seed) {
  const random = rng(seed);
  const vocab = rng(7);
  const nouns = makeWords(vocab, 3000);
  const adjs = makeWords(vocab, 800);
  const places = makeWords(vocab, 400);
  const verbs = ['likes', 'prefers', 'owns', 'booked', 'mentioned', 'cancelled', 'ordered', 'reviewed', 'asked about', 'forgot'];
  const days = ['Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday', 'Sunday'];
  return () => {
    const t = templates[Math.floor(random() * templates.length)];
    return t({
      verb: verbs[Math.floor(random() * verbs.length)],
      adj: zipf(random, adjs),
      adj2: zipf(random, adjs),
      noun: zipf(random, nouns),
      noun2: zipf(random, nouns),
      place: zipf(random, places),
      day: days[Math.floor(random() * days.length)],
    });
  };
}

const percentile = (sorted, p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
const round = (x, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

async function timeQueries(store, vectors, exact, namespaces) {
  const results = [];
  const latencies = [];
  for (let i = 0; i < vectors.length + WARMUP; i++) {
    const vector = vectors[i % vectors.length];
    const namespace = namespaces?.[i % vectors.length];
    const t0 = performance.now();
    const hits = await store.search('bench', 'memory', { vector, topK: TOP_K, exact, ...(namespace ? { namespace } : {}) });
    const ms = performance.now() - t0;
    if (i >= WARMUP) {
      latencies.push(ms);
      results.push(hits.map((h) => h.id));
    }
  }
  latencies.sort((a, b) => a - b);
  return { results, p50: percentile(latencies, 50), p99: percentile(latencies, 99), mean: latencies.reduce((a, b) => a + b, 0) / latencies.length };
}

async function runSize(size) {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-bench-memory-'));
  const embedder = new OfflineEmbedder();
  // No automatic index during the load: it is built once, at the end, as the store would at this size.
  const store = new LanceDbStore({ dataDir: dir, annThreshold: Number.MAX_SAFE_INTEGER });
  try {
    await store.ensureCollection('memory', embedder.model, embedder.dimension);
    const next = generator(size);
    const texts = Array.from({ length: size }, next);
    const tEmbed = performance.now();
    const vectors = await embedder.embed(texts);
    const embedMs = performance.now() - tEmbed;
    const tLoad = performance.now();
    for (let i = 0; i < size; i += 2_000) {
      const batch = texts.slice(i, i + 2_000).map((text, j) => ({
        id: `m${i + j}`,
        namespace: `user:u${(i + j) % 500}`,
        text,
        metadata: {},
        vector: vectors[i + j],
        createdAt: Date.now(),
      }));
      const results = await store.upsert('bench', 'memory', batch);
      if (results.some((r) => !r.ok)) throw new Error(`upsert failed: ${JSON.stringify(results.find((r) => !r.ok))}`);
    }
    const loadMs = performance.now() - tLoad;

    // Queries: half are near-duplicates of stored memories (a word dropped), half are fresh sentences.
    const queryGen = generator(size + 1);
    const queryTexts = Array.from({ length: QUERIES }, (_, i) =>
      i % 2 === 0 ? texts[(i * 7919) % size].split(' ').slice(1).join(' ') : queryGen(),
    );
    const queryVectors = await embedder.embed(queryTexts);

    // Compaction and the index first, so exact and ANN search read the same compacted table.
    const tIndex = performance.now();
    await store.buildIndexNow('bench', 'memory');
    const indexMs = performance.now() - tIndex;
    const exact = await timeQueries(store, queryVectors, true);
    const variants = [];
    for (const [label, options] of [
      ['ivf_pq nprobes=50 refine=10 (store default)', {}],
      ['ivf_pq nprobes=20 refine=10', { nprobes: 20, refineFactor: 10 }],
      ['ivf_pq nprobes=10 refine=1', { nprobes: 10, refineFactor: 1 }],
    ]) {
      const reader = new LanceDbStore({ dataDir: dir, annThreshold: Number.MAX_SAFE_INTEGER, ...options });
      await reader.ensureCollection('memory', embedder.model, embedder.dimension);
      const ann = await timeQueries(reader, queryVectors, false);
      let found = 0;
      ann.results.forEach((ids, q) => {
        const truth = new Set(exact.results[q]);
        found += ids.filter((id) => truth.has(id)).length;
      });
      const possible = exact.results.reduce((n, ids) => n + ids.length, 0);
      variants.push({ label, recallAt10: round(found / possible, 4), p50Ms: round(ann.p50), p99Ms: round(ann.p99), meanMs: round(ann.mean) });
      await reader.close();
    }
    // One user's memories (namespace user:uN, size/500 rows each): what a turn's recall searches.
    const users = queryVectors.map((_, q) => `user:u${(q * 37) % 500}`);
    const userExact = await timeQueries(store, queryVectors, true, users);
    const filtered = [];
    for (const [label, options] of [
      ['store default (exact scan of the user\'s rows)', {}],
      ['forced IVF_PQ with prefilter, nprobes=50 refine=10', { annThreshold: 1 }],
    ]) {
      const reader = new LanceDbStore({ dataDir: dir, ...options });
      await reader.ensureCollection('memory', embedder.model, embedder.dimension);
      const r = await timeQueries(reader, queryVectors, false, users);
      let found = 0;
      r.results.forEach((ids, q) => {
        const truth = new Set(userExact.results[q]);
        found += ids.filter((id) => truth.has(id)).length;
      });
      const possible = userExact.results.reduce((n, ids) => n + ids.length, 0);
      filtered.push({ label, recallAt10: round(found / possible, 4), p50Ms: round(r.p50), p99Ms: round(r.p99), meanMs: round(r.mean) });
      await reader.close();
    }
    return {
      size,
      queries: QUERIES,
      rowsPerUser: size / 500,
      userFiltered: filtered,
      embedMs: Math.round(embedMs),
      loadMs: Math.round(loadMs),
      indexBuildMs: Math.round(indexMs),
      exact: { p50Ms: round(exact.p50), p99Ms: round(exact.p99), meanMs: round(exact.mean) },
      ann: variants,
    };
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const runs = [];
for (const size of SIZES) {
  process.stderr.write(`memory-recall: ${size} memories...\n`);
  const t0 = performance.now();
  const r = await runSize(size);
  r.totalMs = Math.round(performance.now() - t0);
  runs.push(r);
  console.log(`\n${size} memories (${QUERIES} queries, top-${TOP_K}; embed ${r.embedMs} ms, load ${r.loadMs} ms, compaction + index build ${r.indexBuildMs} ms)`);
  console.log(`  exact (flat)                                 p50 ${r.exact.p50Ms} ms  p99 ${r.exact.p99Ms} ms`);
  for (const v of r.ann) console.log(`  ${v.label.padEnd(44)} p50 ${v.p50Ms} ms  p99 ${v.p99Ms} ms  recall@10 ${v.recallAt10}`);
  console.log(`  one user's memories (${r.rowsPerUser} rows):`);
  for (const v of r.userFiltered) console.log(`    ${v.label.padEnd(52)} p50 ${v.p50Ms} ms  p99 ${v.p99Ms} ms  recall@10 ${v.recallAt10}`);
}
const out = {
  bench: 'memory-recall',
  date: new Date().toISOString(),
  node: process.version,
  cpus: cpus().length,
  embedder: 'keelson-offline-hash-v1 (384)',
  store: 'LanceDbStore (@lancedb/lancedb 0.31.0), cosine',
  quick: QUICK,
  runs,
};
mkdirSync(new URL('./results', import.meta.url), { recursive: true });
writeFileSync(new URL('./results/memory-recall-latest.json', import.meta.url), `${JSON.stringify(out, null, 2)}\n`);
