#!/usr/bin/env node
// Smart routing on a mixed workload: the share of requests EXAMPLE_POLICY ('balanced') routes to each tier,
// and what the workload costs routed against always using the top tier (and the middle one), priced with
// the price table. No model is called and nothing is timed: the classifier and the router are deterministic,
// input tokens are counted with the real tokenizer (estimateTokens), output tokens are drawn per request kind.
// The workload is generated from a seed: 60 % short factual questions, 25 % moderate multi-part requests,
// 15 % complex reasoning / code tasks (see KINDS below), each with its intended level, so the run also says
// how often the classifier put a request below or above the level it was written for.
// Usage: node bench/routing-cost.mjs [--requests 2000] [--seed 7]
// Build first (npx tsc -b libs/cost). Writes bench/results/routing-cost-latest.json.
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { EXAMPLE_POLICY, PRICE_TABLE, Router, estimateTokens, priceCall } from '../libs/cost/dist/index.js';
import { rng } from './lib/random.mjs';

const argv = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
};
const REQUESTS = Number(arg('requests', 2000));
const SEED = Number(arg('seed', 7));

const random = rng(SEED);
const pick = (list) => list[Math.floor(random() * list.length)];
const between = (lo, hi) => lo + Math.floor(random() * (hi - lo + 1));

const countries = ['France', 'Peru', 'Kenya', 'Norway', 'Vietnam', 'Chile', 'Egypt', 'Canada', 'Poland', 'Ghana'];
const words = ['good morning', 'thank you', 'where is the station', 'see you tomorrow', 'how much is it'];
const languages = ['Spanish', 'German', 'Japanese', 'Italian', 'Dutch'];
const books = ['Middlemarch', 'Dune', 'Beloved', 'Ulysses', 'Rebecca'];
const topics = ['PostgreSQL and MySQL', 'Kafka and NATS', 'REST and gRPC', 'React and Svelte', 'S3 and GCS'];
const workloads = ['a write-heavy workload', 'a team of five', 'a read-mostly catalogue', 'mobile clients'];
const paragraph = () =>
  Array.from({ length: between(6, 9) }, () => pick(['Revenue grew in every region this quarter.', 'Churn fell after the pricing change.', 'Support tickets doubled in March.', 'The north saw the strongest gains.', 'Hiring slowed in engineering.'])).join(' ');
const longDoc = () =>
  Array.from({ length: between(24, 32) }, () => pick(['The supplier shall deliver within thirty days of the order.', 'Liability is limited to the fees paid in the last twelve months.', 'Either party may terminate with ninety days notice.', 'Payment is due within forty-five days of the invoice date.'])).join(' ');
const snippet = () =>
  '```ts\n' +
  Array.from({ length: between(6, 14) }, (_, i) => pick([`const v${i} = items.filter((x) => x.active).map((x) => x.id);`, `if (cache.has(k${i})) return cache.get(k${i});`, `for (const row of rows) total += row.amount * rate;`, `await db.query('SELECT * FROM orders WHERE id = $1', [id${i}]);`])).join('\n') +
  '\n```';
const tool = (name) => ({ name, description: `${name} tool`, parameters: { type: 'object', properties: { q: { type: 'string' } } } });
const tools = (n) => Array.from({ length: n }, (_, i) => tool(['search', 'book_flight', 'book_hotel', 'weather', 'calendar', 'restaurants', 'maps'][i]));

// Each kind: share of the workload, the level it is written for, a prompt generator, tools offered, output tokens.
const KINDS = [
  // 60 %: short factual questions
  { kind: 'fact', share: 0.25, intended: 'simple', prompt: () => `What is the capital of ${pick(countries)}?`, out: [15, 60] },
  { kind: 'translate', share: 0.15, intended: 'simple', prompt: () => `Translate '${pick(words)}' into ${pick(languages)}.`, out: [5, 30] },
  { kind: 'who-wrote', share: 0.1, intended: 'simple', prompt: () => `Who wrote ${pick(books)}, and when?`, out: [20, 80] },
  { kind: 'lookup-with-tool', share: 0.1, intended: 'simple', prompt: () => `Is it going to rain in ${pick(countries)} tomorrow?`, tools: 2, out: [30, 90] },
  // 25 %: moderate multi-part requests
  { kind: 'compare', share: 0.08, intended: 'moderate', prompt: () => `Compare ${pick(topics)} for ${pick(workloads)}.`, out: [300, 600] },
  { kind: 'summarise', share: 0.07, intended: 'moderate', prompt: () => `Summarise this for the board, then list three risks and two next steps: ${paragraph()}`, out: [200, 400] },
  { kind: 'plan-with-tools', share: 0.05, intended: 'moderate', prompt: () => `Plan my trip to ${pick(countries)}: flights, hotel, dinner.`, tools: 6, out: [250, 500] },
  { kind: 'explain', share: 0.05, intended: 'moderate', prompt: () => `Explain why ${pick(['the sky is blue', 'interest rates move bond prices', 'TCP needs a handshake'])}, step by step.`, out: [300, 700] },
  // 15 %: complex reasoning and code
  { kind: 'refactor-code', share: 0.05, intended: 'complex', prompt: () => `Refactor this step by step and optimize it:\n${snippet()}`, tools: 3, out: [800, 1600] },
  { kind: 'derive-math', share: 0.04, intended: 'complex', prompt: () => `Derive the closed form of \\sum_{k=1}^{n} k^${between(2, 4)} and prove it by induction.`, out: [700, 1400] },
  { kind: 'analyse-contract', share: 0.04, intended: 'complex', prompt: () => `Analyze the risks in this contract and propose changes: ${longDoc()}`, out: [900, 1800] },
  // Written complex, but with no cue the classifier knows: the misses the bench should show.
  { kind: 'terse-hard', share: 0.02, intended: 'complex', prompt: () => pick(['Why is quicksort O(n log n) on average but O(n^2) worst case?', 'What breaks if two Raft leaders exist at once?', 'Is P = NP likely, and what would change?']), out: [600, 1200] },
];
const SYSTEM = 'You are a helpful assistant for an operations team. Answer accurately and concisely; say so when you do not know.';

function workload() {
  const total = KINDS.reduce((s, k) => s + k.share, 0);
  if (Math.abs(total - 1) > 1e-9) throw new Error(`shares add up to ${total}`);
  return Array.from({ length: REQUESTS }, () => {
    let r = random();
    const kind = KINDS.find((k) => (r -= k.share) < 0) ?? KINDS.at(-1);
    return {
      kind: kind.kind,
      intended: kind.intended,
      messages: [
        { role: 'system', content: SYSTEM },
        { role: 'user', content: kind.prompt() },
      ],
      tools: kind.tools ? tools(kind.tools) : undefined,
      outputTokens: between(...kind.out),
    };
  });
}

const router = new Router();
const policy = EXAMPLE_POLICY;
const requests = workload();
const levels = ['simple', 'moderate', 'complex'];
const tierNames = policy.tiers.map((t) => t.name);
const byTier = Object.fromEntries(tierNames.map((t) => [t, 0]));
const confusion = Object.fromEntries(levels.map((l) => [l, Object.fromEntries(tierNames.map((t) => [t, 0]))]));
const byKind = Object.fromEntries(KINDS.map((k) => [k.kind, Object.fromEntries(tierNames.map((t) => [t, 0]))]));
// Two pricings: each tier's first candidate (OpenAI in EXAMPLE_POLICY) and its second (Anthropic, the fallbacks).
const families = [0, 1].map((i) => ({ label: policy.tiers.map((t) => `${t.candidates[i].provider}/${t.candidates[i].model}`).join(' | '), index: i, routed: 0, top: 0, middle: 0 }));
let inputTokensTotal = 0;
let outputTokensTotal = 0;

const cost = (candidate, tokens) => priceCall(candidate.provider, candidate.model, tokens).costMicroUsd;
for (const req of requests) {
  const route = router.choose({ policy, request: { messages: req.messages, ...(req.tools ? { tools: req.tools } : {}) } });
  const tier = policy.tiers[route.decision.tierIndex];
  byTier[tier.name]++;
  confusion[req.intended][tier.name]++;
  byKind[req.kind][tier.name]++;
  for (const f of families) {
    const routed = tier.candidates[f.index];
    // Input tokens with the routed model's tokenizer; tools count as their JSON (as the meter estimates them).
    const inputTokens = estimateTokens(routed.model, req.messages) + (req.tools ? estimateTokens(routed.model, JSON.stringify(req.tools)) : 0);
    const tokens = { inputTokens, outputTokens: req.outputTokens };
    if (f.index === 0) {
      inputTokensTotal += inputTokens;
      outputTokensTotal += req.outputTokens;
    }
    f.routed += cost(routed, tokens);
    f.top += cost(policy.tiers.at(-1).candidates[f.index], tokens);
    f.middle += cost(policy.tiers[1].candidates[f.index], tokens);
  }
}

const pct = (n, d) => (d === 0 ? 0 : Math.round((1000 * n) / d) / 10);
const usd = (micro) => (micro / 1e6).toFixed(4);
const intendedCounts = Object.fromEntries(levels.map((l) => [l, requests.filter((r) => r.intended === l).length]));
const result = {
  bench: 'routing-cost',
  at: new Date().toISOString(),
  requests: REQUESTS,
  seed: SEED,
  policy: policy.name,
  priceTableVersion: PRICE_TABLE.version,
  workload: Object.fromEntries(levels.map((l) => [l, pct(intendedCounts[l], REQUESTS)])),
  tokens: { input: inputTokensTotal, output: outputTokensTotal },
  tierShares: Object.fromEntries(tierNames.map((t) => [t, pct(byTier[t], REQUESTS)])),
  intendedVsTier: confusion,
  kindVsTier: byKind,
  costs: families.map((f) => ({
    models: f.label,
    routedUsd: Number(usd(f.routed)),
    alwaysTopUsd: Number(usd(f.top)),
    alwaysMiddleUsd: Number(usd(f.middle)),
    routedVsTopPct: pct(f.routed, f.top),
    savingVsTopPct: Math.round(1000 - (1000 * f.routed) / f.top) / 10,
  })),
};

console.log(`routing-cost: ${REQUESTS} requests (seed ${SEED}), policy ${policy.name}, price table ${PRICE_TABLE.version}`);
console.log(`workload (intended): ${levels.map((l) => `${l} ${result.workload[l]}%`).join(', ')}; ${inputTokensTotal} input and ${outputTokensTotal} output tokens`);
console.log(`routed to tiers: ${tierNames.map((t) => `${t} ${result.tierShares[t]}%`).join(', ')}`);
console.log('intended level -> tier:');
for (const l of levels) console.log(`  ${l.padEnd(9)} ${tierNames.map((t) => `${t} ${confusion[l][t]}`).join(', ')}`);
console.log('kind -> tier:');
for (const k of KINDS) console.log(`  ${k.kind.padEnd(17)} (${k.intended.padEnd(8)}) ${tierNames.map((t) => `${t} ${byKind[k.kind][t]}`).join(', ')}`);
for (const c of result.costs) {
  console.log(`${c.models}\n  routed ${c.routedUsd} USD, always top ${c.alwaysTopUsd} USD (${c.routedVsTopPct}% of it, saving ${c.savingVsTopPct}%), always middle ${c.alwaysMiddleUsd} USD`);
}
const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'routing-cost-latest.json');
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(`wrote ${out}`);
