#!/usr/bin/env node
// Cold start and warm latency of the stateless function (apps/stateless-function), offline model, no Redis
// or NATS, against the agent loop alone (runAgent) in the same run.
//
//   node bench/function-cold-start.mjs [--cold 10] [--warm 300] [--no-package]
//
// Cold: each sample is a fresh `node` process; `require` is the time to load the handler module, `first` the
// first invocation (settings, keys file, agents, guard, metering built, then the call), `total` the two
// together, all measured inside the process from its first line (Node's own start-up, about 40 ms, comes
// before and is shown apart as `node -e ""`). Warm: in one more process, `--warm` calls after 20 unmeasured.
// Modes: `package` is the folder tools/function/package.mjs builds (what Lambda loads, outside the
// repository), `dist` the same code straight from the repository's dist, `runAgent` the baseline: require
// @keelson/runtime and run the built-in assistant once on the offline model, no HTTP, auth, guard or metering.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);
const opt = (name, fallback) => (args.includes(name) ? Number(args[args.indexOf(name) + 1]) : fallback);
const COLD = opt('--cold', 10);
const WARM = opt('--warm', 300);

const CHILD = `
const t0 = performance.now();
const mode = process.env.MODE;
const warm = Number(process.env.WARM || 0);
const out = (o) => { process.stdout.write('RESULT ' + JSON.stringify(o) + '\\n'); process.exit(0); };
const pct = (xs, p) => { const s = [...xs].sort((a, b) => a - b); return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]; };
(async () => {
  let call;
  if (mode === 'runAgent') {
    const rt = require(process.env.RUNTIME);
    const agents = new rt.AgentRegistry(rt.builtinAgents());
    const providers = new rt.ProviderRegistry([new rt.OfflineModel()]);
    call = async () => { await rt.runAgent({ agent: agents.get('assistant'), messages: [{ role: 'user', content: 'hello' }], providers, tenant: 'dev' }); };
  } else {
    const { handler } = require(process.env.HANDLER);
    const event = JSON.parse(require('node:fs').readFileSync(process.env.EVENT_FILE, 'utf8'));
    event.rawPath = '/v1/agents/assistant/invoke';
    event.headers = { authorization: 'Bearer ' + process.env.KEY, 'content-type': 'application/json' };
    event.body = JSON.stringify({ input: 'hello' });
    call = async () => { const r = await handler(event); if (r.statusCode !== 200) throw new Error(r.body); };
  }
  const loaded = performance.now();
  await call();
  const first = performance.now();
  if (!warm) return out({ require: loaded - t0, first: first - loaded, total: first - t0 });
  for (let i = 0; i < 20; i++) await call();
  const times = [];
  for (let i = 0; i < warm; i++) { const s = performance.now(); await call(); times.push(performance.now() - s); }
  out({ p50: pct(times, 50), p95: pct(times, 95), p99: pct(times, 99), mean: times.reduce((a, b) => a + b, 0) / times.length });
})().catch((err) => { console.error(err); process.exit(1); });
`;

function child(env) {
  const output = execFileSync(process.execPath, ['-e', CHILD], { cwd: tmpdir(), encoding: 'utf8', env: { PATH: process.env.PATH, LOG_LEVEL: 'error', ...env } });
  return JSON.parse(output.split('\n').find((l) => l.startsWith('RESULT ')).slice(7));
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const max = (xs) => Math.max(...xs);
const ms = (x) => x.toFixed(1);

const dir = mkdtempSync(join(tmpdir(), 'keelson-bench-fn-'));
try {
  const key = `ks_bench_${randomBytes(16).toString('hex')}`;
  const salt = randomBytes(16).toString('hex');
  const keysFile = join(dir, 'api-keys.json');
  writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 'bench', tenant: 'dev', salt, hash: createHash('sha256').update(salt).update(key).digest('hex'), scopes: ['invoke'] }] }));
  const common = { KEY: key, KEELSON_API_KEYS_FILE: keysFile, EVENT_FILE: join(root, 'apps/stateless-function/src/fixtures/http-api-v2-event.json') };

  const modes = [];
  if (!args.includes('--no-package')) {
    const pkg = join(dir, 'pkg');
    const printed = execFileSync(process.execPath, [join(root, 'tools/function/package.mjs'), '--no-build', '--out', pkg], { cwd: root, encoding: 'utf8' });
    console.log(printed.split('\n')[0]);
    modes.push(['package', { ...common, MODE: 'handler', HANDLER: join(pkg, 'lambda.js') }]);
  }
  modes.push(['dist', { ...common, MODE: 'handler', HANDLER: join(root, 'apps/stateless-function/dist/lambda.js') }]);
  modes.push(['runAgent', { MODE: 'runAgent', RUNTIME: join(root, 'libs/runtime/dist/index.js') }]);

  const bare = [];
  for (let i = 0; i < COLD; i++) {
    const s = performance.now();
    execFileSync(process.execPath, ['-e', '']);
    bare.push(performance.now() - s);
  }
  console.log(`node -e "" (process start and exit, from outside): median ${ms(median(bare))} ms`);
  console.log(`\ncold, ${COLD} fresh processes each; warm, ${WARM} calls after 20 in one process (ms)\n`);
  console.log('| mode | require (median) | first call (median) | cold total (median / max) | warm p50 / p95 / p99 |');
  console.log('|---|---:|---:|---:|---:|');
  for (const [name, env] of modes) {
    const cold = Array.from({ length: COLD }, () => child(env));
    const warm = child({ ...env, WARM: String(WARM) });
    const t = cold.map((c) => c.total);
    console.log(
      `| ${name} | ${ms(median(cold.map((c) => c.require)))} | ${ms(median(cold.map((c) => c.first)))} | ${ms(median(t))} / ${ms(max(t))} | ${warm.p50.toFixed(2)} / ${warm.p95.toFixed(2)} / ${warm.p99.toFixed(2)} |`,
    );
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
