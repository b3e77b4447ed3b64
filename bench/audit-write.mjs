#!/usr/bin/env node
// Sustained audit writes through the embedded store: events/s through AuditIngest + SqliteAuditStore (hash
// chain, dedup by id, indexed columns) on a temp file, for 1 tenant and for 10, against a baseline in the
// same run: raw better-sqlite3 inserts of the same event JSON, in transactions of the same batch size, with
// the same pragmas (WAL, synchronous=NORMAL, 32 MiB page cache) and no chain or hash. Two rows in between say where the time
// goes: raw inserts into the store's own table and indexes, and SqliteAuditStore.append without the ingest.
// Events are ~600 bytes of JSON (a model.call with usage, trace/session/run ids, a short preview), generated
// from a seed. Each mode gets a fresh file and an unmeasured warm-up of 2,000 events.
// Usage: node bench/audit-write.mjs [--events 50000] [--tenants 1,10] [--batch 256] [--in-flight 2048]
// Build first (npx tsc -b libs/audit). Writes bench/results/audit-write-latest.json.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AuditIngest, canonicalJson, chainRecord, openSqliteAuditStore } from '../libs/audit/dist/index.js';
import { rng } from './lib/random.mjs';

const require = createRequire(import.meta.url);
const Database = require('better-sqlite3');

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const EVENTS = Number(arg('events', 50_000));
const TENANTS = arg('tenants', '1,10').split(',').map(Number);
const BATCH = Number(arg('batch', 256));
const IN_FLIGHT = Number(arg('in-flight', 2048)); // the audit-writer consumer's max_ack_pending
const WARMUP = 2_000;

const hex = (random, n) => Array.from({ length: n }, () => Math.floor(random() * 16).toString(16)).join('');
const words = ['the', 'invoice', 'customer', 'refund', 'order', 'shipping', 'delayed', 'account', 'summary', 'policy', 'weekly', 'report'];

function makeEvents(count, tenants, seed) {
  const random = rng(seed);
  const start = Date.parse('2026-03-01T00:00:00.000Z');
  return Array.from({ length: count }, (_, i) => {
    const preview = Array.from({ length: 12 }, () => words[Math.floor(random() * words.length)]).join(' ');
    return {
      id: `evt_${seed}_${i}_${hex(random, 12)}`,
      tenant: `tenant-${i % tenants}`,
      type: 'model.call',
      time: new Date(start + i * 7).toISOString(),
      service: 'session-agent',
      actor: { kind: 'api_key', id: `key-${Math.floor(random() * 50)}` },
      traceId: hex(random, 32),
      spanId: hex(random, 16),
      sessionId: `ses_${hex(random, 16)}`,
      runId: `run_${hex(random, 20)}`,
      agentId: 'assistant',
      data: {
        model: 'gpt-4o-mini', provider: 'openai', inputTokens: Math.floor(random() * 4000), outputTokens: Math.floor(random() * 800),
        costUsd: Math.round(random() * 1e6) / 1e8, finish: 'stop', latencyMs: Math.floor(random() * 3000), routedBy: 'balanced', preview,
      },
      refs: [],
    };
  });
}

const tmp = mkdtempSync(join(tmpdir(), 'keelson-bench-audit-'));
let files = 0;
const freshPath = () => join(tmp, `audit-${++files}.db`);
const pragmas = (db) => {
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -32768'); // as SqliteAuditStore sets it
};

/** Times one mode: `setup(path)` returns { write(events) -> Promise, close() }; warm-up first on the same file. */
async function measure(setup, events, warmup) {
  const path = freshPath();
  const target = await setup(path);
  await target.write(warmup);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await target.write(events);
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  await target.close();
  return { eventsPerSec: Math.round((events.length * 1000) / ms), ms: Math.round(ms), cpuUsPerEvent: Math.round(((cpu.user + cpu.system) / events.length) * 10) / 10 };
}

function batches(events, fn) {
  for (let i = 0; i < events.length; i += BATCH) fn(events.slice(i, i + BATCH));
}

const modes = {
  'raw better-sqlite3 (baseline)': (path) => {
    const db = new Database(path);
    pragmas(db);
    db.exec('CREATE TABLE events (tenant TEXT NOT NULL, id TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (tenant, id)) WITHOUT ROWID');
    const insert = db.prepare('INSERT INTO events (tenant, id, body) VALUES (?, ?, ?)');
    const tx = db.transaction((batch) => {
      for (const e of batch) insert.run(e.tenant, e.id, JSON.stringify(e));
    });
    return { write: async (events) => batches(events, tx), close: async () => db.close() };
  },
  'raw, store table + indexes': (path) => {
    // The store's schema (it creates it), filled with the same columns but no hash, chain or duplicate check.
    openSqliteAuditStore({ path }).close();
    const db = new Database(path);
    pragmas(db);
    const insert = db.prepare(
      `INSERT INTO audit_records (tenant, seq, id, type, category, actor, time_ms, trace_id, session_id, task_id, run_id, prev_hash, hash, body, expire_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', '', ?, NULL)`,
    );
    const seqs = new Map();
    const tx = db.transaction((batch) => {
      for (const e of batch) {
        const seq = (seqs.get(e.tenant) ?? 0) + 1;
        seqs.set(e.tenant, seq);
        insert.run(e.tenant, seq, e.id, e.type, 'model', `${e.actor.kind}:${e.actor.id}`, Date.parse(e.time), e.traceId, e.sessionId, null, e.runId, JSON.stringify(e));
      }
    });
    return { write: async (events) => batches(events, tx), close: async () => db.close() };
  },
  'SqliteAuditStore.append': (path) => {
    const store = openSqliteAuditStore({ path });
    return {
      write: async (events) => {
        for (let i = 0; i < events.length; i += BATCH) await store.append(events.slice(i, i + BATCH));
      },
      close: () => store.close(),
    };
  },
  'AuditIngest + SqliteAuditStore': (path) => {
    const store = openSqliteAuditStore({ path });
    const ingest = new AuditIngest(store, { maxBatch: BATCH });
    return {
      // One submit per event, as the consumer does per message, with at most IN_FLIGHT unacknowledged.
      write: async (events) => {
        const inFlight = [];
        for (const e of events) {
          if (inFlight.length >= IN_FLIGHT) await inFlight.shift();
          inFlight.push(ingest.submit(e));
        }
        await Promise.all(inFlight);
      },
      close: async () => {
        await ingest.close();
        await store.close();
      },
    };
  },
};

const sample = makeEvents(1000, 1, 1);
const avgBytes = Math.round(sample.reduce((s, e) => s + JSON.stringify(e).length, 0) / sample.length);
// Hashing alone: canonical JSON + sha256 of each chained record, the chain's own CPU cost.
const hashUs = (() => {
  const events = makeEvents(20_000, 1, 2);
  let prev;
  const t0 = performance.now();
  for (const e of events) prev = chainRecord(e, prev, '2026-03-01T00:00:00.000Z');
  return Math.round(((performance.now() - t0) * 1000) / events.length * 10) / 10;
})();
const canonicalUs = (() => {
  const t0 = performance.now();
  for (const e of sample) canonicalJson(e);
  return Math.round(((performance.now() - t0) * 1000) / sample.length * 10) / 10;
})();

console.log(`audit-write: ${EVENTS} events of ~${avgBytes} B JSON, batch ${BATCH}, ${cpus().length} cores (${cpus()[0]?.model}), node ${process.version}`);
console.log(`chainRecord (canonical JSON + sha256) ${hashUs} µs/event, of which canonical JSON ${canonicalUs} µs`);
const results = { events: EVENTS, batch: BATCH, inFlight: IN_FLIGHT, avgEventBytes: avgBytes, chainRecordUsPerEvent: hashUs, canonicalJsonUsPerEvent: canonicalUs, runs: [] };
for (const tenants of TENANTS) {
  const events = makeEvents(EVENTS, tenants, 100 + tenants);
  const warmup = makeEvents(WARMUP, tenants, 200 + tenants);
  console.log(`\n${tenants} tenant${tenants > 1 ? 's' : ''}`);
  console.log(`  ${'mode'.padEnd(32)} ${'events/s'.padStart(9)} ${'CPU µs/ev'.padStart(10)} ${'x baseline'.padStart(10)}`);
  let base;
  for (const [name, setup] of Object.entries(modes)) {
    const r = await measure(setup, events, warmup);
    base ??= r.eventsPerSec;
    const ratio = Math.round((r.eventsPerSec / base) * 100) / 100;
    results.runs.push({ tenants, mode: name, ...r, ratio });
    console.log(`  ${name.padEnd(32)} ${String(r.eventsPerSec).padStart(9)} ${String(r.cpuUsPerEvent).padStart(10)} ${ratio.toFixed(2).padStart(10)}`);
  }
}
rmSync(tmp, { recursive: true, force: true });
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'audit-write-latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
console.log(`wrote ${out}`);
