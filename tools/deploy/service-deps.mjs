#!/usr/bin/env node
// The runtime dependencies of one Keelson service, computed from its compiled code, and the minimal
// package.json + package-lock.json that install exactly those (deploy/docker/Dockerfile's prune stage).
//
//   node tools/deploy/service-deps.mjs --list                       every service: counts and packages
//   node tools/deploy/service-deps.mjs <service> [--json]           one service's packages
//   node tools/deploy/service-deps.mjs <service> --out <dir>        writes <dir>/package.json + package-lock.json
//                                                                   (+ keelson-libs.txt, the @keelson libs it loads)
//   node tools/deploy/service-deps.mjs --port <service>             the service's HTTP port
//   node tools/deploy/service-deps.mjs --slim <app dir>             deletes unused optional packages (UNUSED_OPTIONAL)
//                                                                   and *.d.ts, *.map, *.md (never loaded)
//   node tools/deploy/service-deps.mjs --native <app dir>           packages whose native build must run
//   node tools/deploy/service-deps.mjs <service> --install <dir>    the same, then `npm ci --omit=dev` there, the
//                                                                   service's dist and libs copied in, the install
//                                                                   checked by loading the app, and its size printed
//
// Needs the build (npx tsc -b apps/<service>). How it works:
// - Starts at apps/<service>/dist/main.js and follows every string-literal `require('x')`,
//   `require.resolve('x')` and `import('x')` (lazy ones inside functions included) through relative files and
//   `@keelson/<lib>[/sub]` (libs/<lib>/dist), so test helpers in a dist folder are never reached.
// - Every other specifier that is not a Node built-in is an external package: `x/sub` counts as `x`,
//   `@scope/name/sub` as `@scope/name`.
// - Versions are the exact ones the root package-lock.json installs (node_modules/<name>), so the image runs
//   what CI tested; a package the code requires but the root package.json does not declare is reported.
// - The lock is pruned to the packages reachable from those dependencies through the root lock's own
//   resolution (dependencies, optional dependencies, non-optional peers), so `npm ci --omit=dev` in the image
//   installs the same tree, byte for byte, as the repository's lock: reproducible, nothing resolved afresh.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'];
/** Each service's HTTP port (/healthz, /readyz, /metrics): the gateway's PORT, the others' HEALTH_PORT; the tests compare them with the config schemas' defaults. */
export const SERVICE_PORTS = { gateway: 8080, 'session-agent': 8081, 'task-worker': 8082, 'memory-service': 8083, 'audit-service': 8084, 'guard-service': 8085 };

const BUILTINS = new Set(builtinModules.flatMap((m) => [m, `node:${m}`]));

/** The package a specifier names: `x/sub` -> `x`, `@s/n/sub` -> `@s/n`; undefined for built-ins and paths. */
export function packageName(spec) {
  if (spec.startsWith('.') || spec.startsWith('/')) return undefined;
  if (spec.startsWith('node:') || BUILTINS.has(spec) || BUILTINS.has(spec.split('/')[0])) return undefined;
  const parts = spec.split('/');
  return spec.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

// `require('x')`, `require.resolve('x')`, `import('x')` with a plain string literal, not `foo.require(` or
// `xrequire(`. A template literal without ${} counts too.
const LITERAL_CALL = /(?<![\w$.])(require(?:\.resolve)?|import)\s*\(\s*(?:'([^'\n]+)'|"([^"\n]+)"|`([^`$\n]+)`)\s*[,)]/g;
const ANY_REQUIRE = /(?<![\w$.])require\s*\(/g;

/** The specifiers a compiled file loads, and how many require( calls had no literal argument. */
export function collectSpecifiers(source) {
  const specs = [];
  for (const m of source.matchAll(LITERAL_CALL)) specs.push(m[2] ?? m[3] ?? m[4]);
  const calls = [...source.matchAll(ANY_REQUIRE)].length;
  const literalRequires = [...source.matchAll(LITERAL_CALL)].filter((m) => m[1] === 'require').length;
  return { specs, nonLiteral: Math.max(0, calls - literalRequires) };
}

function resolveFile(path) {
  for (const candidate of [path, `${path}.js`, join(path, 'index.js')]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return undefined;
}

/** A `@keelson/<lib>[/sub]` specifier as a file under libs/<lib>. */
function resolveKeelson(root, spec) {
  const [, lib, ...sub] = spec.split('/');
  const dir = join(root, 'libs', lib);
  if (!existsSync(join(dir, 'package.json'))) throw new Error(`${spec}: no libs/${lib}/package.json`);
  if (sub.length) return { lib, file: resolveFile(join(dir, ...sub)) };
  const main = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).main ?? 'index.js';
  return { lib, file: resolveFile(join(dir, main)) };
}

/**
 * Follows the service's compiled module graph from main.js. Returns the external packages (with the files
 * that load them), the @keelson libs reached, the files reached and the files with non-literal require()s.
 */
export function serviceGraph(service, { root = ROOT } = {}) {
  const entry = join(root, 'apps', service, 'dist', 'main.js');
  if (!existsSync(entry)) throw new Error(`${relative(root, entry)} is missing; build first: npx tsc -b apps/${service}`);
  const externals = new Map();
  const libs = new Set();
  const seen = new Set();
  const dynamic = [];
  const sources = new Map();
  const lazy = [];
  const queue = [entry];
  while (queue.length) {
    const file = queue.pop();
    if (seen.has(file)) continue;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    sources.set(file, source);
    const { specs, nonLiteral } = collectSpecifiers(source);
    if (nonLiteral) dynamic.push(relative(root, file));
    for (const { spec, loader } of lazyLoaders(source)) lazy.push({ file, spec, loader });
    for (const spec of specs) {
      if (spec.startsWith('.')) {
        const target = resolveFile(resolve(dirname(file), spec));
        if (target) queue.push(target);
        else if (!spec.endsWith('.json')) throw new Error(`${relative(root, file)}: cannot resolve ${spec}`);
        continue;
      }
      if (spec.startsWith('@keelson/')) {
        const { lib, file: target } = resolveKeelson(root, spec);
        libs.add(lib);
        if (!target) throw new Error(`${relative(root, file)}: cannot resolve ${spec} (is libs/${lib} built?)`);
        queue.push(target);
        continue;
      }
      const name = packageName(spec);
      if (!name) continue;
      if (!externals.has(name)) externals.set(name, new Set());
      externals.get(name).add(relative(root, file));
    }
  }
  // A package loaded only inside an exported function that nothing else in this service's graph calls is not
  // needed by this service (better-sqlite3 and mongoose are loaded by libs/audit's open*AuditStore, which only
  // audit-service calls). Conservative: a require in a method, a non-exported or an internally used function
  // keeps its package.
  const unreached = new Map();
  for (const name of [...externals.keys()]) {
    const loads = lazy.filter((l) => packageName(l.spec) === name);
    if (loads.length === 0 || loads.length < countLoads(sources, name)) continue;
    if (loads.every((l) => l.loader && !calledElsewhere(sources, l.file, l.loader))) {
      unreached.set(name, loads.map((l) => `${relative(root, l.file)} ${l.loader}()`));
      externals.delete(name);
    }
  }
  return { externals, unreached, libs: [...libs].sort(), files: [...seen].map((f) => relative(root, f)).sort(), dynamic };
}

/** How many literal loads of package `name` the graph's files hold. */
function countLoads(sources, name) {
  let n = 0;
  for (const source of sources.values()) n += collectSpecifiers(source).specs.filter((s) => packageName(s) === name).length;
  return n;
}

/**
 * The loads inside a top-level `function name(` (indented lines: tsc emits module-level requires at column 0),
 * with that function's name; `loader` is undefined when the enclosing code is not a plain top-level function.
 */
export function lazyLoaders(source) {
  const lines = source.split('\n');
  const out = [];
  let current;
  for (const line of lines) {
    if (/^\S/.test(line)) {
      const fn = /^(?:async\s+)?function\*?\s*([\w$]+)\s*\(/.exec(line);
      current = fn ? fn[1] : line.startsWith('}') ? current : undefined;
      if (!fn && !line.startsWith('}')) continue;
    }
    if (!/^\s/.test(line)) continue;
    for (const m of line.matchAll(LITERAL_CALL)) out.push({ spec: m[2] ?? m[3] ?? m[4], loader: current });
  }
  return out.filter((l) => packageName(l.spec));
}

/** Whether `fn` (defined in `file`) is used anywhere in the graph besides its definition, its export and barrels. */
function calledElsewhere(sources, file, fn) {
  const word = new RegExp(`(?<![\\w$])${fn.replace(/\$/g, '\\$')}(?![\\w$])`, 'g');
  for (const [path, source] of sources) {
    let uses = [...source.matchAll(word)].length;
    if (path === file) uses -= 1 + 2 * [...source.matchAll(new RegExp(`exports\\.${fn}\\s*=\\s*${fn}\\b`, 'g'))].length;
    if (uses > 0) return true;
  }
  return false;
}

export function readRoot(root = ROOT) {
  return {
    manifest: JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')),
    lock: JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')),
  };
}

/**
 * One service's runtime dependencies: `{ service, libs, dependencies: { name: exactVersion }, declared,
 * undeclared, devOnly, dynamic, unreached }`. `undeclared`: required but not in the root package.json's dependencies
 * (installed only as another package's dependency); `devOnly`: required but only a devDependency there.
 */
export function serviceDeps(service, { root = ROOT, rootFiles = readRoot(root) } = {}) {
  const { externals, unreached, libs, dynamic } = serviceGraph(service, { root });
  const { manifest, lock } = rootFiles;
  const dependencies = {};
  const undeclared = [];
  const devOnly = [];
  for (const name of [...externals.keys()].sort()) {
    const entry = lock.packages[`node_modules/${name}`];
    if (!entry?.version) throw new Error(`${service} requires ${name}, which the root package-lock.json does not install`);
    dependencies[name] = entry.version;
    if (!manifest.dependencies?.[name]) (manifest.devDependencies?.[name] ? devOnly : undeclared).push(name);
  }
  return { service, libs, dependencies, declared: Object.keys(manifest.dependencies ?? {}).length, undeclared, devOnly, dynamic, externals, unreached };
}

function parentPath(path) {
  const i = path.lastIndexOf('node_modules/');
  return i <= 0 ? '' : path.slice(0, i - 1);
}

/** Where Node (and npm's lock) finds `name` from the package at `from`: nearest node_modules upwards. */
function lockResolve(packages, from, name) {
  let base = from;
  for (;;) {
    const candidate = `${base ? `${base}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!base) return undefined;
    base = parentPath(base);
  }
}

/**
 * Optional dependencies of installed packages that Keelson never loads, left out of every image. Each one is
 * an optional edge in the lock (npm installs it unless it fails) and is loaded only by a feature Keelson does
 * not use; the reason is printed by --list.
 */
export const UNUSED_OPTIONAL = {
  '@huggingface/transformers':
    "LanceDB's optional local-embedding function (@lancedb/lancedb/dist/embedding/transformers.js, a lazy import); Keelson computes its own vectors (libs/memory). With onnxruntime-node/-web and sharp: about 300 MiB",
};

/** The root lock cut down to what `dependencies` need, with a root entry matching `manifest`. */
export function prunedLock(rootLock, manifest) {
  return lockClosure(rootLock, manifest, false);
}

/**
 * Paths of an installed lock that only UNUSED_OPTIONAL edges reach: npm ci insists on installing every
 * locked optional dependency, so the image deletes these after the install (--slim).
 */
export function unusedOptionalPaths(lock) {
  const manifest = { name: lock.name, version: lock.version, dependencies: lock.packages[''].dependencies };
  const used = new Set(Object.keys(lockClosure(lock, manifest, true).packages));
  return Object.keys(lock.packages).filter((p) => p && !used.has(p));
}

function lockClosure(rootLock, manifest, skipUnused) {
  const packages = rootLock.packages;
  const keep = new Set();
  const queue = Object.keys(manifest.dependencies).map((name) => ({ from: '', name, optional: false }));
  while (queue.length) {
    const { from, name, optional } = queue.pop();
    const path = lockResolve(packages, from, name);
    if (!path) {
      if (optional) continue;
      throw new Error(`package-lock.json has no ${name} (needed by ${from || 'the root'})`);
    }
    if (keep.has(path)) continue;
    keep.add(path);
    const entry = packages[path];
    for (const dep of Object.keys(entry.dependencies ?? {})) queue.push({ from: path, name: dep, optional: false });
    for (const dep of Object.keys(entry.optionalDependencies ?? {})) {
      if (!skipUnused || !UNUSED_OPTIONAL[dep]) queue.push({ from: path, name: dep, optional: true });
    }
    for (const dep of Object.keys(entry.peerDependencies ?? {})) {
      if (entry.peerDependenciesMeta?.[dep]?.optional) continue;
      queue.push({ from: path, name: dep, optional: false });
    }
  }
  const out = { name: manifest.name, version: manifest.version, lockfileVersion: rootLock.lockfileVersion, requires: true, packages: {} };
  out.packages[''] = { name: manifest.name, version: manifest.version, license: manifest.license, dependencies: { ...manifest.dependencies } };
  if (manifest.engines) out.packages[''].engines = manifest.engines;
  for (const path of [...keep].sort()) out.packages[path] = packages[path];
  return out;
}

/** package.json of the service's image: only its dependencies, exact versions, install scripts it needs. */
export function prunedManifest(service, { root = ROOT, rootFiles = readRoot(root) } = {}) {
  const deps = serviceDeps(service, { root, rootFiles });
  const { manifest } = rootFiles;
  const out = {
    name: `keelson-${service}`,
    version: manifest.version,
    private: true,
    license: manifest.license,
    engines: manifest.engines,
    dependencies: deps.dependencies,
  };
  const lock = prunedLock(rootFiles.lock, out);
  // npm 11 runs a dependency's install script only when allowScripts approves it: keep the approvals of the
  // packages this install contains (better-sqlite3 for audit-service), drop the rest.
  const allow = Object.fromEntries(
    Object.entries(manifest.allowScripts ?? {}).filter(([name]) => Object.keys(lock.packages).some((p) => p === `node_modules/${name}` || p.endsWith(`/node_modules/${name}`))),
  );
  if (Object.keys(allow).length) out.allowScripts = allow;
  return { manifest: out, lock, deps };
}

export function writePruned(service, dir, opts = {}) {
  const { manifest, lock, deps } = prunedManifest(service, opts);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(manifest, null, 2)}\n`);
  writeFileSync(join(dir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  // The @keelson libs to copy next to node_modules, one per line (the Dockerfile's prune stage reads it).
  writeFileSync(join(dir, 'keelson-libs.txt'), `${deps.libs.join('\n')}\n`);
  return { manifest, lock, deps };
}

function duBytes(dir) {
  let total = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    total += st.isDirectory() ? duBytes(path) : st.size;
  }
  return total;
}

/** Files a running service never reads: type declarations, source maps, Markdown. Deleted under `dir`; returns bytes freed. */
export const SLIM_PATTERN = /\.(d\.ts|d\.mts|d\.cts|map|md|markdown)$/i;
/**
 * Trims an installed app directory (package-lock.json + node_modules): deletes the packages only unused
 * optional edges reach (UNUSED_OPTIONAL), then the files no running service reads. Returns bytes freed.
 */
export function slimApp(appDir) {
  let freed = 0;
  const lockFile = join(appDir, 'package-lock.json');
  if (existsSync(lockFile)) {
    for (const path of unusedOptionalPaths(JSON.parse(readFileSync(lockFile, 'utf8')))) {
      const full = join(appDir, path);
      if (!existsSync(full)) continue;
      freed += duBytes(full);
      rmSync(full, { recursive: true, force: true });
    }
  }
  return freed + slimNodeModules(join(appDir, 'node_modules'));
}

export function slimNodeModules(dir) {
  let freed = 0;
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    const st = statSync(path, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) freed += slimNodeModules(path);
    else if (SLIM_PATTERN.test(name)) {
      freed += st.size;
      rmSync(path);
    }
  }
  return freed;
}

/**
 * What the image's prune + runtime stages do, on this machine: pruned install, the service's dist and the
 * @keelson libs it uses copied in as packages, then every module of the app loaded (bootstrap.js, without
 * starting it) and every lazily required package resolved. Returns sizes in bytes.
 */
export function installPruned(service, dir, { root = ROOT, scripts = false } = {}) {
  rmSync(dir, { recursive: true, force: true });
  const { deps, lock } = writePruned(service, dir, { root });
  execFileSync('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const natives = Object.keys(JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).allowScripts ?? {});
  if (scripts && natives.length) execFileSync('npm', ['rebuild', ...natives], { cwd: dir, stdio: ['ignore', 'ignore', 'inherit'] });
  const installed = duBytes(join(dir, 'node_modules'));
  slimApp(dir);
  const nodeModules = duBytes(join(dir, 'node_modules'));
  for (const lib of deps.libs) {
    const to = join(dir, 'node_modules', '@keelson', lib);
    mkdirSync(to, { recursive: true });
    cpSync(join(root, 'libs', lib, 'package.json'), join(to, 'package.json'));
    cpSync(join(root, 'libs', lib, 'dist'), join(to, 'dist'), { recursive: true });
  }
  // The image's layout: the service at /app/service (dist, and the gateway's dashboard next to it).
  cpSync(join(root, 'apps', service, 'dist'), join(dir, 'service', 'dist'), { recursive: true });
  if (existsSync(join(root, 'apps', service, 'dashboard'))) cpSync(join(root, 'apps', service, 'dashboard'), join(dir, 'service', 'dashboard'), { recursive: true });
  const dists = duBytes(join(dir, 'service')) + deps.libs.reduce((n, lib) => n + duBytes(join(dir, 'node_modules', '@keelson', lib)), 0);
  return { deps, packages: Object.keys(lock.packages).length - 1, installed, nodeModules, dists };
}

/** Loads the installed app's module graph (not started) and resolves every external; throws what is missing. */
export function verifyInstalled(service, dir) {
  const deps = serviceDeps(service);
  const script = `
    const { createRequire } = require('node:module');
    const req = createRequire(${JSON.stringify(join(dir, 'service', 'dist', 'bootstrap.js'))});
    const missing = [];
    for (const name of ${JSON.stringify(Object.keys(deps.dependencies))}) {
      try { req.resolve(name); } catch (e) { try { req.resolve(name + '/package.json'); } catch { missing.push(name); } }
    }
    if (missing.length) { console.error('missing: ' + missing.join(', ')); process.exit(1); }
    require(${JSON.stringify(join(dir, 'service', 'dist', 'bootstrap.js'))});
    process.exit(0);
  `;
  execFileSync(process.execPath, ['-e', script], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'], env: { PATH: process.env.PATH, NODE_ENV: 'production', OTEL_SDK_DISABLED: 'true' }, timeout: 60_000 });
}

const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  const usage = 'usage: node tools/deploy/service-deps.mjs --list | --port <service> | --slim <dir> | --native <dir> | <service> [--json] [--out <dir>] [--install <dir>]';
  if (args[0] === '--slim' && args[1]) {
    console.log(`--slim: ${mib(slimApp(resolve(args[1])))} removed (unused optional packages, declarations, source maps, Markdown)`);
  } else if (args[0] === '--native' && args[1]) {
    // The packages of an install whose build scripts must run (the approved ones: allowScripts), one line.
    console.log(Object.keys(JSON.parse(readFileSync(join(resolve(args[1]), 'package.json'), 'utf8')).allowScripts ?? {}).join(' '));
  } else if (args[0] === '--port' && SERVICES.includes(args[1])) {
    console.log(SERVICE_PORTS[args[1]]);
  } else if (args[0] === '--list') {
    const rootFiles = readRoot();
    const declared = Object.keys(rootFiles.manifest.dependencies).length;
    for (const service of SERVICES) {
      const d = serviceDeps(service, { rootFiles });
      const lock = prunedLock(rootFiles.lock, { name: service, version: '0.0.0', dependencies: d.dependencies });
      const unused = unusedOptionalPaths(lock).length;
      console.log(`${service.padEnd(15)} ${String(Object.keys(d.dependencies).length).padStart(2)} of ${declared} direct, ${Object.keys(lock.packages).length - 1 - unused} packages in the image (${unused} more locked, deleted after npm ci); libs: ${d.libs.join(' ')}`);
      console.log(`${''.padEnd(15)} ${Object.keys(d.dependencies).join(' ')}`);
      if (d.undeclared.length) console.log(`${''.padEnd(15)} required but not declared in package.json: ${d.undeclared.join(' ')}`);
      for (const [name, where] of d.unreached) console.log(`${''.padEnd(15)} left out: ${name}, loaded only by ${where.join(', ')}, which this service never calls`);
      if (d.devOnly.length) console.log(`${''.padEnd(15)} required but only a devDependency: ${d.devOnly.join(' ')}`);
    }
    console.log(`root lock: ${Object.keys(rootFiles.lock.packages).length - 1} packages`);
    for (const [name, why] of Object.entries(UNUSED_OPTIONAL)) console.log(`left out of every image: ${name}: ${why}`);
  } else if (SERVICES.includes(args[0])) {
    const service = args[0];
    const out = args.indexOf('--out') >= 0 ? args[args.indexOf('--out') + 1] : undefined;
    const install = args.indexOf('--install') >= 0 ? args[args.indexOf('--install') + 1] : undefined;
    if (install) {
      const r = installPruned(service, resolve(install), { scripts: args.includes('--scripts') });
      verifyInstalled(service, resolve(install));
      console.log(`${service}: ${Object.keys(r.deps.dependencies).length} direct, ${r.packages} packages, node_modules ${mib(r.nodeModules)} (${mib(r.installed)} before --slim), dist ${mib(r.dists)}; app modules load`);
    } else if (out) {
      const { deps, lock } = writePruned(service, resolve(out));
      console.log(`${service}: ${Object.keys(deps.dependencies).length} dependencies, ${Object.keys(lock.packages).length - 1} packages -> ${out}`);
    } else {
      const d = serviceDeps(service);
      if (args.includes('--json')) console.log(JSON.stringify({ ...d, externals: undefined, unreached: Object.fromEntries(d.unreached) }, null, 2));
      else for (const [name, version] of Object.entries(d.dependencies)) console.log(`${name}@${version}`);
    }
  } else {
    console.error(usage);
    process.exit(2);
  }
}
