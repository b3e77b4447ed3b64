#!/usr/bin/env node
// Runs the compiled test files with node's own test runner and prints `N passed, N failed` at the end.
// Usage: run-tests.mjs [--kind unit|int|e2e]... [--project <dir>] [--tools] [--summary-file <path>]
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = new URL('../..', import.meta.url).pathname;
const args = process.argv.slice(2);
const kinds = [];
let project;
let summaryFile;
let toolsOnly = false;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--tools') toolsOnly = true;
  else if (args[i] === '--kind') kinds.push(args[++i]);
  else if (args[i] === '--project') project = args[++i];
  else if (args[i] === '--summary-file') summaryFile = args[++i];
}
const suffixes = { unit: '.spec.js', int: '.int-spec.js', e2e: '.e2e-spec.js' };
const wanted = (kinds.length ? kinds : Object.keys(suffixes)).map((k) => suffixes[k]);

function walk(dir, out) {
  let entries;
  try {
    entries = readdirSync(dir);
  } catch {
    return out;
  }
  for (const name of entries) {
    if (name === 'node_modules') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('spec.js') || name.endsWith('.spec.mjs')) out.push(path);
  }
  return out;
}

const matchesKind = (file) => {
  if (file.endsWith('.int-spec.js')) return wanted.includes('.int-spec.js');
  if (file.endsWith('.e2e-spec.js')) return wanted.includes('.e2e-spec.js');
  return file.endsWith('.spec.js') && wanted.includes('.spec.js');
};
const dirs = project
  ? [join(root, project, 'dist')]
  : [
      ...readdirSync(join(root, 'libs')).map((d) => join(root, 'libs', d, 'dist')),
      ...readdirSync(join(root, 'apps')).map((d) => join(root, 'apps', d, 'dist')),
      join(root, 'e2e', 'dist'),
    ];
// The dev-stack scripts are plain ESM with no build step; their specs run as they are.
const files = toolsOnly
  ? walk(join(root, 'tools'), []).filter((f) => f.endsWith('.spec.mjs')).sort()
  : dirs.flatMap((d) => walk(d, [])).filter(matchesKind).sort();

let passed = 0;
let failed = 0;
let skipped = 0;
const failures = [];
if (files.length > 0) {
  const stream = run({ files, concurrency: Number(process.env.TEST_CONCURRENCY ?? 2), timeout: 10 * 60_000 });
  stream.on('test:pass', (e) => {
    if (e.details?.type === 'suite') return;
    if (e.skip || e.todo) skipped++;
    else passed++;
  });
  stream.on('test:fail', (e) => {
    if (e.details?.type === 'suite' && e.details?.error?.failureType !== 'hookFailed' && e.details?.error?.failureType !== 'testCodeFailure') return;
    failed++;
    failures.push(`${e.file ? relative(root, e.file) + ': ' : ''}${e.name}`);
  });
  stream.compose(spec).pipe(process.stdout);
  await new Promise((resolve) => stream.on('end', resolve));
  await new Promise((resolve) => setImmediate(resolve));
}
if (failures.length) console.log(`\nFailed:\n${failures.map((f) => `  - ${f}`).join('\n')}`);
console.log(`\n${files.length} test files (${wanted.join(', ')})`);
const line = `${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`;
if (summaryFile) writeFileSync(summaryFile, JSON.stringify({ passed, failed, skipped }));
console.log(line);
process.exitCode = failed > 0 ? 1 : 0;
