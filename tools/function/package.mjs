#!/usr/bin/env node
// Packages apps/stateless-function as a self-contained folder for AWS Lambda (Node.js 20): the function's
// compiled files at the root (handler `lambda.handler`), and under node_modules/ only what they require: the
// files of the @keelson libs they reach (file by file) and the npm packages they need (whole, with the
// dependencies their package.json names). Zip the folder's contents and upload it (docs/serverless.md).
//
//   node tools/function/package.mjs [--out dist/stateless-function] [--no-build]
//                                   [--agents <dir>] [--keys <api-keys.json>]
//
// --agents copies a folder of agent files to agents/ (AGENTS_DIR=/var/task/agents); --keys copies an API keys
// file to api-keys.json (KEELSON_API_KEYS_FILE=/var/task/api-keys.json): it holds salted hashes only.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, readdirSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const appDist = join(root, 'apps', 'stateless-function', 'dist');
const ENTRY = 'lambda.js';
const SKIPPED = /(\.d\.[cm]?ts|\.map|\.md|\.markdown|\.tsbuildinfo)$/i;

export function parseArgs(argv) {
  const args = { out: join(root, 'dist', 'stateless-function'), build: true, agents: undefined, keys: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--out') args.out = resolve(argv[++i]);
    else if (a === '--no-build') args.build = false;
    else if (a === '--agents') args.agents = resolve(argv[++i]);
    else if (a === '--keys') args.keys = resolve(argv[++i]);
    else throw new Error(`unknown argument ${a} (see the head of tools/function/package.mjs)`);
  }
  return args;
}

/**
 * Files of the libs the function reaches but never loads: observability's tracing.js (the OpenTelemetry SDK
 * with every auto-instrumentation, some 250 packages) is required only by startTracing(), which the
 * function does not call. Leaving them out cuts the package from about 71 to under 20 MiB.
 */
const NEVER_LOADED = new Set(['libs/observability/dist/tracing.js']);

const builtins = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));
const SPECIFIER = /\b(?:require|import)\(\s*(['"])([^'"]+)\1\s*\)/g;

/** The package name of a bare specifier: `redis`, `@redis/client` (a subpath is dropped). */
const packageName = (spec) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);

/** A file as Node resolves a relative require: as is, .js, .json, or a folder's index.js. */
function resolveFile(base) {
  for (const candidate of [base, `${base}.js`, `${base}.json`, join(base, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  throw new Error(`cannot resolve ${base}`);
}

/** The folder of package `name` as Node finds it from `fromDir`: the nearest node_modules/<name> upwards. */
function packageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return undefined;
  }
}

/**
 * What the entry needs: `files` (absolute paths of the app's and the @keelson libs' files, walked through
 * their requires) and `packages` (absolute folders of npm packages, with their dependencies).
 */
export function collect(entry) {
  const files = new Set();
  const packages = new Set();
  const missing = [];
  const pending = [entry];
  const addPackage = (name, fromDir, optional) => {
    const dir = packageDir(name, fromDir);
    if (!dir) {
      if (!optional) missing.push(`${name} (needed from ${relative(root, fromDir)})`);
      return;
    }
    const real = realpathSync(dir);
    if (real.startsWith(join(root, 'libs') + '/')) return addKeelsonLib(real, undefined);
    if (packages.has(real) || name.startsWith('@types/')) return;
    packages.add(real);
    const manifest = JSON.parse(readFileSync(join(real, 'package.json'), 'utf8'));
    for (const dep of Object.keys(manifest.dependencies ?? {})) addPackage(dep, real, false);
    for (const dep of Object.keys(manifest.optionalDependencies ?? {})) addPackage(dep, real, true);
    for (const [dep, meta] of Object.entries(manifest.peerDependenciesMeta ?? {})) if (!meta?.optional) addPackage(dep, real, true);
    for (const dep of Object.keys(manifest.peerDependencies ?? {})) if (!manifest.peerDependenciesMeta?.[dep]?.optional) addPackage(dep, real, true);
  };
  const addKeelsonLib = (libDir, subpath) => {
    const manifest = JSON.parse(readFileSync(join(libDir, 'package.json'), 'utf8'));
    files.add(join(libDir, 'package.json'));
    pending.push(resolveFile(join(libDir, subpath ?? manifest.main ?? 'index.js')));
  };
  while (pending.length) {
    const file = pending.pop();
    if (files.has(file) || NEVER_LOADED.has(relative(root, file))) continue;
    files.add(file);
    if (!file.endsWith('.js')) continue;
    const source = readFileSync(file, 'utf8');
    for (const [, , spec] of source.matchAll(SPECIFIER)) {
      if (builtins.has(spec)) continue;
      if (spec.startsWith('.')) {
        pending.push(resolveFile(resolve(dirname(file), spec)));
        continue;
      }
      const name = packageName(spec);
      const dir = packageDir(name, dirname(file));
      const real = dir && realpathSync(dir);
      if (real && real.startsWith(join(root, 'libs') + '/')) addKeelsonLib(real, spec.slice(name.length + 1) || undefined);
      else addPackage(name, dirname(file), false);
    }
  }
  if (missing.length) throw new Error(`packages not installed: ${missing.join(', ')}`);
  return { files, packages };
}

/** Where a file or package goes in the output folder. */
function target(out, abs) {
  if (abs.startsWith(appDist + '/')) return join(out, relative(appDist, abs));
  const libs = join(root, 'libs') + '/';
  if (abs.startsWith(libs)) {
    const [lib, ...rest] = relative(libs, abs).split('/');
    const name = JSON.parse(readFileSync(join(libs, lib, 'package.json'), 'utf8')).name;
    return join(out, 'node_modules', name, ...rest);
  }
  // An npm package keeps its place under node_modules (a nested copy stays nested under its parent).
  const at = abs.lastIndexOf('/node_modules/');
  const fromRoot = relative(join(root, 'node_modules'), abs);
  return join(out, 'node_modules', fromRoot.startsWith('..') ? abs.slice(at + '/node_modules/'.length) : fromRoot);
}

function sizeOf(dir) {
  let bytes = 0;
  let count = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    bytes += statSync(join(entry.parentPath ?? entry.path, entry.name)).size;
    count++;
  }
  return { bytes, count };
}

export function packageFunction(args) {
  if (args.build) execFileSync('npx', ['tsc', '-b', 'apps/stateless-function'], { cwd: root, stdio: 'inherit' });
  const { files, packages } = collect(join(appDist, ENTRY));
  rmSync(args.out, { recursive: true, force: true });
  mkdirSync(args.out, { recursive: true });
  for (const file of files) {
    const to = target(args.out, file);
    mkdirSync(dirname(to), { recursive: true });
    cpSync(file, to);
  }
  for (const dir of packages) {
    cpSync(dir, target(args.out, dir), {
      recursive: true,
      dereference: true,
      // Its own nested node_modules are copied as packages of their own when they are needed.
      filter: (src) => !SKIPPED.test(relative(dir, src)) && !relative(dir, src).split('/').includes('node_modules'),
    });
  }
  writeFileSync(join(args.out, 'package.json'), `${JSON.stringify({ name: 'keelson-stateless-function', private: true, main: ENTRY }, null, 2)}\n`);
  if (args.agents) cpSync(args.agents, join(args.out, 'agents'), { recursive: true });
  if (args.keys) cpSync(args.keys, join(args.out, 'api-keys.json'));
  const { bytes, count } = sizeOf(args.out);
  return { out: args.out, bytes, files: count, packages: [...packages].map((p) => relative(join(root, 'node_modules'), p)).sort() };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const result = packageFunction(parseArgs(process.argv.slice(2)));
  const mb = (result.bytes / 1_048_576).toFixed(1);
  console.log(`${relative(process.cwd(), result.out) || '.'}: ${result.files} files, ${mb} MiB unzipped (Lambda allows 250 MiB); handler lambda.handler`);
  console.log(`npm packages (${result.packages.length}): ${result.packages.join(', ')}`);
  console.log(`zip it: (cd ${relative(process.cwd(), result.out)} && zip -qr ../${basename(result.out)}.zip .)`);
}
