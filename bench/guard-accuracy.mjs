#!/usr/bin/env node
// Accuracy of the guard (libs/guard, built): injection detection and PII/secrets detection on labelled data.
//
//   node bench/guard-accuracy.mjs [--json out.json] [--threshold 0.5]
//
// Injection: precision, recall and false-positive rate of stage 1 at the default block threshold, per data
// set and per source (user, tool, memory, document). Data: shared/data/guard/injection-dev.jsonl (the
// development set, deepset/prompt-injections train split) and libs/guard/data/injection-own.jsonl (hard
// negatives and attacks written for this project; used while tuning) and injection-holdout.jsonl
// and injection-blind.jsonl (each written once and first measured blind, see docs/guard.md).
//
// PII: per entity type, a gold span counts as found when a predicted span of the same type overlaps it;
// a predicted span is a true positive when it overlaps a gold span of its type. Precision is also given
// "lenient": predictions overlapping a gold span of a type the guard does not claim (ORGANIZATION, GPE,
// DATE_TIME, ZIP_CODE, ...) are then not counted as false positives. Data: shared/data/guard/pii-dev.json
// (presidio-research synthetic sentences) and libs/guard/data/pii-own.jsonl (secrets, international
// formats and hard negatives written for this project).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(ROOT, 'libs/guard/dist/index.js');
if (!existsSync(dist)) {
  console.error('build first: npx tsc -b libs/guard');
  process.exit(1);
}
const { scoreInjection, detectSpans, codePointIndexer } = await import(dist);

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const THRESHOLD = Number(opt('threshold', '0.5'));
const SHARED = process.env.GUARD_DATA_DIR ?? '/work/shared/data/guard';
const OWN = join(ROOT, 'libs/guard/data');

const jsonl = (p) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
const r3 = (x) => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null);

function injection(name, rows) {
  const by = new Map();
  const cell = (k) => by.get(k) ?? by.set(k, { n: 0, tp: 0, fp: 0, fn: 0, tn: 0, uncertain: 0 }).get(k);
  for (const r of rows) {
    const source = r.source ?? 'user';
    const { score } = scoreInjection(r.text, { source });
    const hit = score >= THRESHOLD;
    for (const c of [cell('all'), cell(`source:${source}`)]) {
      c.n++;
      if (score >= 0.3 && score < THRESHOLD) c.uncertain++;
      if (r.label === 1) hit ? c.tp++ : c.fn++;
      else hit ? c.fp++ : c.tn++;
    }
  }
  const out = {};
  for (const [k, c] of by) {
    out[k] = { ...c, precision: r3(c.tp / (c.tp + c.fp)), recall: r3(c.tp / (c.tp + c.fn)), fpr: r3(c.fp / (c.fp + c.tn)) };
  }
  return { name, ...out };
}

const CLAIMED = new Set(['PERSON', 'STREET_ADDRESS', 'CREDIT_CARD', 'US_SSN', 'EMAIL_ADDRESS', 'PHONE_NUMBER', 'IBAN_CODE', 'IP_ADDRESS', 'UK_NINO', 'ES_NIF', 'DATE_OF_BIRTH', 'API_KEY', 'PRIVATE_KEY', 'JWT', 'URL_CREDENTIALS', 'PASSWORD']);

function pii(name, rows) {
  const stat = new Map();
  const S = (t) => stat.get(t) ?? stat.set(t, { gold: 0, found: 0, predicted: 0, tp: 0, neutral: 0 }).get(t);
  let micros = 0;
  for (const r of rows) {
    const t0 = process.hrtime.bigint();
    const spans = detectSpans(r.text);
    micros += Number(process.hrtime.bigint() - t0) / 1000;
    const cp = codePointIndexer(r.text);
    const pred = spans.map((s) => ({ type: s.type, start: cp(s.start), end: cp(s.end) }));
    for (const g of r.spans) {
      if (!CLAIMED.has(g.type)) continue;
      const s = S(g.type);
      s.gold++;
      if (pred.some((p) => p.type === g.type && p.start < g.end && g.start < p.end)) s.found++;
    }
    for (const p of pred) {
      const s = S(p.type);
      s.predicted++;
      const over = r.spans.filter((g) => p.start < g.end && g.start < p.end);
      if (over.some((g) => g.type === p.type)) s.tp++;
      else if (over.some((g) => !CLAIMED.has(g.type))) s.neutral++;
    }
  }
  const types = {};
  const tot = { gold: 0, found: 0, predicted: 0, tp: 0, neutral: 0 };
  for (const [t, s] of [...stat].sort()) {
    types[t] = { ...s, recall: r3(s.found / s.gold), precision: r3(s.tp / s.predicted), precisionLenient: r3((s.tp + s.neutral) / s.predicted) };
    for (const k of Object.keys(tot)) tot[k] += s[k];
  }
  return {
    name,
    rows: rows.length,
    all: { ...tot, recall: r3(tot.found / tot.gold), precision: r3(tot.tp / tot.predicted), precisionLenient: r3((tot.tp + tot.neutral) / tot.predicted) },
    types,
    microsPerText: r3(micros / rows.length),
  };
}

const presidio = JSON.parse(readFileSync(join(SHARED, 'pii-dev.json'), 'utf8')).map((r) => ({
  text: r.full_text,
  spans: r.spans.map((s) => ({ type: s.entity_type, start: s.start_position, end: s.end_position })),
}));

const result = {
  threshold: THRESHOLD,
  injection: [
    injection('shared injection-dev (deepset train split)', jsonl(join(SHARED, 'injection-dev.jsonl'))),
    injection('own injection-own (hard negatives, indirect, obfuscated)', jsonl(join(OWN, 'injection-own.jsonl'))),
    injection('own injection-holdout', jsonl(join(OWN, 'injection-holdout.jsonl'))),
    injection('own injection-blind (second blind set)', jsonl(join(OWN, 'injection-blind.jsonl'))),
  ],
  pii: [pii('shared pii-dev (presidio-research synth)', presidio), pii('own pii-own (secrets, formats, hard negatives)', jsonl(join(OWN, 'pii-own.jsonl'))), pii('own pii-blind (names and addresses, written blind)', jsonl(join(OWN, 'pii-blind.jsonl')))],
};

for (const s of result.injection) {
  console.log(`\nInjection: ${s.name}`);
  for (const [k, c] of Object.entries(s)) {
    if (k === 'name') continue;
    console.log(`  ${k.padEnd(16)} n=${String(c.n).padEnd(4)} precision ${c.precision}  recall ${c.recall}  FPR ${c.fpr}  (tp ${c.tp} fp ${c.fp} fn ${c.fn} tn ${c.tn}; uncertain band ${c.uncertain})`);
  }
}
for (const s of result.pii) {
  console.log(`\nPII: ${s.name} (${s.rows} texts, ${s.microsPerText} µs/text)`);
  const line = (k, v) => console.log(`  ${k.padEnd(16)} recall ${String(v.recall).padEnd(6)} precision ${String(v.precision).padEnd(6)} lenient ${String(v.precisionLenient).padEnd(6)} (gold ${v.gold}, found ${v.found}, predicted ${v.predicted}, tp ${v.tp}, on unclaimed types ${v.neutral})`);
  for (const [t, v] of Object.entries(s.types)) line(t, v);
  line('ALL', s.all);
}
const out = opt('json');
if (out) writeFileSync(out, JSON.stringify(result, null, 2));
