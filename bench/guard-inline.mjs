#!/usr/bin/env node
// What the inline guard adds to one agent run (libs/runtime runAgent with @keelson/guard's InlineGuard, built),
// against the same run without the guard, measured in the same process on the same scripted model output.
//
//   node bench/guard-inline.mjs [--runs 3000] [--rounds 3]
//
// The model is a scripted provider (no network, no tokens of delay): a user message of about 200 characters,
// then a reply of about 900 characters streamed in 24-character chunks, with an e-mail address and a phone
// number in it. With the guard, the run checks the user message (stage 1), streams every chunk through a
// StreamFilter and reports its redaction decision to a no-op sink. Figures: microseconds per run (median of
// the rounds), the difference, and the ratio.
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
for (const lib of ['runtime', 'guard']) {
  if (!existsSync(join(ROOT, `libs/${lib}/dist/index.js`))) {
    console.error(`build first: npx tsc -b libs/${lib}`);
    process.exit(1);
  }
}
const { runAgent, ProviderRegistry, builtinAgents } = await import(join(ROOT, 'libs/runtime/dist/index.js'));
const { InlineGuard, DEFAULT_EFFECTIVE_POLICY } = await import(join(ROOT, 'libs/guard/dist/index.js'));

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : def;
};
const RUNS = opt('runs', 3_000);
const ROUNDS = opt('rounds', 3);

const agent = { ...builtinAgents()[0], systemPrompt: '' };
const userText = 'Could you summarise the account notes below and tell me who to contact about the renewal? '.repeat(2);
const reply =
  'Here is a short summary of the account. The renewal is due at the end of the quarter and the customer asked for ' +
  'a quote with the same terms as last year. The contact for the renewal is jane.doe@example.com, or by phone on ' +
  '+44 20 7946 0958 during office hours. They also asked whether the support plan can move to the premium tier, ' +
  'which would change the price by about a fifth; I would confirm that before sending anything. Open items: the ' +
  'signed order form, the new billing address, and the list of users to add. Nothing else is outstanding, and the ' +
  'last three invoices were paid on time. I would send the quote this week so that legal has time to review it.';
const chunks = reply.match(/[\s\S]{1,24}/g);
const providers = new ProviderRegistry([
  {
    name: agent.model.provider,
    async *stream() {
      for (const text of chunks) yield { type: 'text', text };
      yield { type: 'usage', usage: { inputTokens: 60, outputTokens: 220, totalTokens: 280 } };
      yield { type: 'finish', reason: 'stop' };
    },
  },
]);
const inline = new InlineGuard({ policies: { effective: async () => DEFAULT_EFFECTIVE_POLICY }, onDecision: () => undefined });
const messages = [{ role: 'user', content: userText }];

async function measure(withGuard) {
  let sink = 0;
  const start = process.hrtime.bigint();
  for (let i = 0; i < RUNS; i++) {
    const guard = withGuard ? await inline.forRun('bench', agent.id) : undefined;
    const outcome = await runAgent({ agent, messages, providers, onDelta: (d) => (sink += d.length), ...(guard ? { guard } : {}) });
    sink += outcome.output.length;
  }
  const us = Number(process.hrtime.bigint() - start) / 1_000 / RUNS;
  return { us, sink };
}

// Warm-up, unmeasured.
await measure(false);
await measure(true);
const plain = [];
const guarded = [];
for (let r = 0; r < ROUNDS; r++) {
  plain.push((await measure(false)).us);
  guarded.push((await measure(true)).us);
}
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const base = median(plain);
const withGuard = median(guarded);
const result = {
  runs: RUNS,
  rounds: ROUNDS,
  replyChars: reply.length,
  chunk: 24,
  plainUsPerRun: Math.round(base * 10) / 10,
  guardedUsPerRun: Math.round(withGuard * 10) / 10,
  addedUsPerRun: Math.round((withGuard - base) * 10) / 10,
  ratio: Math.round((withGuard / base) * 100) / 100,
  node: process.version,
};
console.log('mode                  µs/run   x baseline');
console.log(`runAgent (baseline)  ${result.plainUsPerRun.toFixed(1).padStart(7)}       1.00`);
console.log(`runAgent + guard     ${result.guardedUsPerRun.toFixed(1).padStart(7)}   ${result.ratio.toFixed(2).padStart(8)}`);
console.log(`added by the guard: ${result.addedUsPerRun} µs per run (${reply.length} characters out, one user message in)`);
writeFileSync(join(ROOT, 'bench/results/guard-inline-latest.json'), `${JSON.stringify(result, null, 2)}\n`);
