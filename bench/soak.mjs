#!/usr/bin/env node
// The soak (issue 11, item 2) as a benchmark run: e2e/src/soak.e2e-spec.ts with KEELSON_SOAK=1 (ten minutes
// at half the capacity measured at the start of the same run), its figures written to
// bench/results/soak-latest.json. The suite itself asserts (no error, RSS growth under 10 %, descriptors not
// growing, consumer lag back to 0); this script runs it, keeps the figures and says whether it passed. See
// docs/benchmarks.md "Soak".
//
//   node bench/soak.mjs [--short] [--no-build]
import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = new Set(process.argv.slice(2));
const out = join(ROOT, 'bench', 'results', 'soak-latest.json');
mkdirSync(dirname(out), { recursive: true });
if (!args.has('--no-build')) execFileSync('npx', ['tsc', '-b', 'tsconfig.json'], { cwd: ROOT, stdio: 'inherit' });

const env = { ...process.env, KEELSON_SOAK_OUT: out, ...(args.has('--short') ? {} : { KEELSON_SOAK: '1' }) };
const child = spawn(process.execPath, ['--test', '--test-reporter=spec', join(ROOT, 'e2e', 'dist', 'soak.e2e-spec.js')], { cwd: ROOT, env, stdio: 'inherit' });
// Bounded: the long soak is 10 min of load plus the capacity probe, warm-up and mesh start.
const limit = setTimeout(() => child.kill('SIGTERM'), 20 * 60_000);
const code = await new Promise((done) => child.on('exit', (c) => done(c ?? 1)));
clearTimeout(limit);
try {
  const figures = JSON.parse(readFileSync(out, 'utf8'));
  console.log(`\nsoak ${figures.soakS} s on ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), ${code === 0 ? 'passed' : 'FAILED'}; figures in ${out}`);
  console.log(`capacity ${figures.capacityReqPerS.toFixed(1)} req/s, asked ${figures.askedReqPerS.toFixed(1)}, done ${figures.doneReqPerS.toFixed(1)}; machine busy ${figures.cpu.machineBusyPct} %, mesh ${figures.cpu.meshCorePct} % of a core`);
} catch {
  console.log(`\nsoak ${code === 0 ? 'passed' : 'FAILED'}; no figures written (${out})`);
}
process.exit(code);
