#!/usr/bin/env node
// Speed of the guard (libs/guard, built), each figure next to a baseline measured in the same run on the
// same texts, so the ratio holds on another machine even where the absolute numbers do not.
//
//   node bench/guard-speed.mjs [--rounds 5] [--json out.json]
//
// Stage 1 (scoreInjection): microseconds per message over the injection texts (shared dev set + own sets),
// mean, p50 and p99, against two baselines: String.prototype.normalize('NFKC') alone, and one precompiled
// regular expression (`ignore ... instructions`) tested on each message.
// Output filter (filterOutput, placeholders): MB/s over the presidio-research sentences and over one large
// document (the same sentences joined, about 1 MB), against one precompiled e-mail regex scan of the same
// text. Streaming filter: MB/s with 64-character chunks on the large document.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(ROOT, 'libs/guard/dist/index.js');
if (!existsSync(dist)) {
  console.error('build first: npx tsc -b libs/guard');
  process.exit(1);
}
const { scoreInjection, filterOutput, StreamFilter, DEFAULT_EFFECTIVE_POLICY } = await import(dist);
const { OutputPolicySchema } = await import(join(ROOT, 'libs/contracts/dist/index.js'));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : def;
};
const ROUNDS = Number(opt('rounds', '5'));
const SHARED = process.env.GUARD_DATA_DIR ?? '/work/shared/data/guard';
const OWN = join(ROOT, 'libs/guard/data');
const jsonl = (p) => readFileSync(p, 'utf8').trim().split('\n').map((l) => JSON.parse(l));

const messages = [
  ...jsonl(join(SHARED, 'injection-dev.jsonl')),
  ...jsonl(join(OWN, 'injection-own.jsonl')),
  ...jsonl(join(OWN, 'injection-holdout.jsonl')),
].map((r) => r.text);
const sentences = JSON.parse(readFileSync(join(SHARED, 'pii-dev.json'), 'utf8')).map((r) => r.full_text);

const round = (x, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const pct = (xs, p) => xs[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))];

/** Per-item timings (µs) of fn over items, after a warm-up pass, ROUNDS times. */
function perItem(items, fn) {
  for (const it of items) fn(it);
  const times = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const it of items) {
      const t0 = process.hrtime.bigint();
      fn(it);
      times.push(Number(process.hrtime.bigint() - t0) / 1000);
    }
  }
  times.sort((a, b) => a - b);
  return { meanUs: round(times.reduce((a, b) => a + b, 0) / times.length, 2), p50Us: round(pct(times, 50), 2), p99Us: round(pct(times, 99), 2) };
}

/** MB/s of fn over items (total UTF-8 bytes / total time), after a warm-up pass. */
function throughput(items, fn, rounds = ROUNDS) {
  const bytes = items.reduce((a, s) => a + Buffer.byteLength(s), 0);
  for (const it of items) fn(it);
  const t0 = process.hrtime.bigint();
  for (let r = 0; r < rounds; r++) for (const it of items) fn(it);
  const s = Number(process.hrtime.bigint() - t0) / 1e9;
  return { mbPerS: round((bytes * rounds) / s / 1e6, 2), bytes };
}

const BASELINE_RE = /\bignore\s+(?:all\s+)?(?:previous|prior|above)\s+instructions\b/i;
const EMAIL_RE = /[\p{L}\p{N}._%+-]{1,64}@(?:[\p{L}\p{N}-]{1,63}\.)+\p{L}{2,24}/gu;
const policy = OutputPolicySchema.parse({});
let sink = 0;

const stage1 = {
  messages: messages.length,
  meanChars: round(messages.reduce((a, m) => a + m.length, 0) / messages.length),
  scoreInjection: perItem(messages, (m) => (sink += scoreInjection(m).score)),
  baselineNormalizeNFKC: perItem(messages, (m) => (sink += m.normalize('NFKC').length)),
  baselineOneRegex: perItem(messages, (m) => (sink += BASELINE_RE.test(m) ? 1 : 0)),
};

const big = sentences.join('\n\n');
const doc = big.repeat(Math.max(1, Math.round(1_000_000 / big.length)));
const output = {
  sentences: sentences.length,
  perSentence: perItem(sentences, (s) => (sink += filterOutput(s, policy).findings.length)),
  filterOutputSentences: throughput(sentences, (s) => (sink += filterOutput(s, policy).text.length)),
  filterOutputLargeDocument: throughput([doc], (s) => (sink += filterOutput(s, policy).text.length), 2),
  streamFilterLargeDocument: throughput(
    [doc],
    (s) => {
      const f = new StreamFilter(policy);
      for (let i = 0; i < s.length; i += 64) sink += f.push(s.slice(i, i + 64)).length;
      sink += f.end().length;
    },
    1,
  ),
  baselineEmailRegexSentences: throughput(sentences, (s) => {
    for (const m of s.matchAll(EMAIL_RE)) sink += m.index;
  }),
  baselineEmailRegexLargeDocument: throughput([doc], (s) => {
    for (const m of s.matchAll(EMAIL_RE)) sink += m.index;
  }),
  baselineNormalizeNFKCLargeDocument: throughput([doc], (s) => (sink += s.normalize('NFKC').length)),
};

const result = { node: process.version, rounds: ROUNDS, stage1, output, defaultPolicyVersion: DEFAULT_EFFECTIVE_POLICY.version };
console.log(`Stage 1 over ${stage1.messages} messages (mean ${stage1.meanChars} characters):`);
for (const k of ['scoreInjection', 'baselineNormalizeNFKC', 'baselineOneRegex']) {
  const v = stage1[k];
  console.log(`  ${k.padEnd(24)} mean ${v.meanUs} µs  p50 ${v.p50Us} µs  p99 ${v.p99Us} µs`);
}
console.log(`Output filter over ${output.sentences} sentences and a ${round(output.filterOutputLargeDocument.bytes / 1e6, 2)} MB document:`);
console.log(`  per sentence             mean ${output.perSentence.meanUs} µs  p50 ${output.perSentence.p50Us} µs  p99 ${output.perSentence.p99Us} µs`);
for (const k of ['filterOutputSentences', 'filterOutputLargeDocument', 'streamFilterLargeDocument', 'baselineEmailRegexSentences', 'baselineEmailRegexLargeDocument', 'baselineNormalizeNFKCLargeDocument']) {
  console.log(`  ${k.padEnd(36)} ${output[k].mbPerS} MB/s`);
}
if (sink === 0.5) console.log('');
const out = opt('json');
if (out) writeFileSync(out, JSON.stringify(result, null, 2));
