// The images' dependency pruning (tools/deploy/service-deps.mjs) and the Dockerfile's hardening, offline.
// Needs the build (`npm test` builds first; alone: npx tsc -b tsconfig.json && node --test tools/deploy/service-deps.spec.mjs).
// KEELSON_DEPLOY_INSTALL=1 also runs the pruned `npm ci` of each service into a temporary directory, loads
// the app from it and prints the sizes (slow; needs the npm registry or cache).
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import {
  ROOT,
  SERVICES,
  SERVICE_PORTS,
  collectSpecifiers,
  installPruned,
  lazyLoaders,
  packageName,
  prunedLock,
  prunedManifest,
  readRoot,
  serviceDeps,
  verifyInstalled,
} from './service-deps.mjs';

const rootFiles = readRoot();
const rootDeps = Object.keys(rootFiles.manifest.dependencies);
const DEV_ONLY = /^(typescript|eslint|eslint-.*|@typescript-eslint\/.*|typescript-eslint|nx|@nx\/.*|playwright-core|s3rver|vitest|jest|openai|jsonc-eslint-parser|@types\/.*)$/;

/**
 * The external packages a service really loads when its modules are imported (not started): a child process
 * records every request that resolves into node_modules while requiring apps/<service>/dist/bootstrap.js.
 */
function loadedPackages(service) {
  const script = `
    const Module = require('node:module');
    const seen = new Set();
    const resolve = Module._resolveFilename;
    Module._resolveFilename = function (request, ...rest) {
      const file = resolve.call(this, request, ...rest);
      const i = file.lastIndexOf('/node_modules/');
      if (i >= 0 && !request.startsWith('.') && !request.startsWith('/')) {
        const fromRoot = file.slice(0, i) === ${JSON.stringify(ROOT.replace(/\/$/, ''))};
        const parent = rest[0] && rest[0].filename || '';
        // Only what Keelson's own code requires: packages loaded by other packages are npm's business.
        if (!parent.includes('/node_modules/') || parent.includes('/node_modules/@keelson/')) seen.add(request);
        void fromRoot;
      }
      return file;
    };
    require(${JSON.stringify(join(ROOT, 'apps', service, 'dist', 'bootstrap.js'))});
    process.stdout.write(JSON.stringify([...seen]));
    process.exit(0);
  `;
  const out = execFileSync(process.execPath, ['-e', script], {
    cwd: ROOT,
    env: { PATH: process.env.PATH, NODE_ENV: 'test', OTEL_SDK_DISABLED: 'true' },
    encoding: 'utf8',
    timeout: 60_000,
  });
  return [...new Set(JSON.parse(out).map(packageName).filter(Boolean))].filter((n) => !n.startsWith('@keelson/')).sort();
}

describe('reading compiled code', () => {
  test('package names: sub-paths, scopes, built-ins', () => {
    assert.equal(packageName('js-tiktoken/ranks/o200k_base'), 'js-tiktoken');
    assert.equal(packageName('@opentelemetry/api'), '@opentelemetry/api');
    assert.equal(packageName('@keelson/observability/dist/register'), '@keelson/observability');
    assert.equal(packageName('minio/dist/main/Credentials.js'), 'minio');
    assert.equal(packageName('node:fs/promises'), undefined);
    assert.equal(packageName('fs'), undefined);
    assert.equal(packageName('./x'), undefined);
  });

  test('require, require.resolve and import() with literals; not foo.require() or computed names', () => {
    const src = [
      'const a = require("nats");',
      "  const b = require('js-tiktoken/lite');",
      'const c = require.resolve(\'chart.js\');',
      '  const jose = await import(\'jose\');',
      'const d = this.require("not-a-package"); const e = xrequire("nope");',
      'const f = require(name);',
      'const g = require(`ws`);',
    ].join('\n');
    const { specs, nonLiteral } = collectSpecifiers(src);
    assert.deepEqual(specs, ['nats', 'js-tiktoken/lite', 'chart.js', 'jose', 'ws']);
    assert.equal(nonLiteral, 1);
  });

  test('a lazy load is attributed to its top-level function, module-level ones are not lazy', () => {
    const src = [
      'const x = require("eager");',
      'function openStore(o) {',
      "    const Database = require('better-sqlite3');",
      '    return new Database(o);',
      '}',
      'class A {',
      '    m() { return require("in-method"); }',
      '}',
    ].join('\n');
    assert.deepEqual(lazyLoaders(src), [
      { spec: 'better-sqlite3', loader: 'openStore' },
      { spec: 'in-method', loader: undefined },
    ]);
  });
});

describe('each service gets only its runtime dependencies', () => {
  const counts = [];
  for (const service of SERVICES) {
    test(service, () => {
      const deps = serviceDeps(service, { rootFiles });
      const names = Object.keys(deps.dependencies);
      // Everything the app loads when its modules are imported is there.
      const loaded = loadedPackages(service);
      const missing = loaded.filter((n) => !names.includes(n));
      assert.deepEqual(missing, [], `${service} loads ${missing.join(', ')} but the computed dependencies leave it out`);
      // No development tool, no devDependency of the root.
      const dev = names.filter((n) => DEV_ONLY.test(n) || rootFiles.manifest.devDependencies?.[n]);
      assert.deepEqual(dev, [], `${service} would ship development packages: ${dev.join(', ')}`);
      assert.deepEqual(deps.undeclared, [], `${service} requires packages the root package.json does not declare: ${deps.undeclared.join(', ')}`);
      // Exact versions, the ones the root lock installs.
      for (const [name, version] of Object.entries(deps.dependencies)) {
        assert.equal(version, rootFiles.lock.packages[`node_modules/${name}`].version, name);
      }
      const { lock } = prunedManifest(service, { rootFiles });
      const packages = Object.keys(lock.packages).length - 1;
      assert.ok(names.length < rootDeps.length, `${service}: ${names.length} dependencies, not fewer than the root's ${rootDeps.length}`);
      counts.push(`${service.padEnd(15)} ${String(names.length).padStart(2)} of ${rootDeps.length} direct dependencies, ${packages} of ${Object.keys(rootFiles.lock.packages).length - 1} locked packages` +
        (deps.unreached.size ? `; left out: ${[...deps.unreached.keys()].join(', ')}` : ''));
      if (counts.length === SERVICES.length) console.log(`\n${counts.join('\n')}\n`);
    });
  }

  test('native modules and lazy loads go where they are used', () => {
    const audit = serviceDeps('audit-service', { rootFiles });
    assert.ok(audit.dependencies['better-sqlite3'] && audit.dependencies.mongoose, 'audit-service keeps both audit stores');
    const gateway = serviceDeps('gateway', { rootFiles });
    assert.equal(gateway.dependencies['better-sqlite3'], undefined, 'the gateway never opens a SQLite audit store');
    assert.ok(gateway.dependencies.jose, 'the gateway verifies OIDC tokens with jose (a dynamic import)');
    assert.ok(gateway.dependencies['chart.js'], 'the gateway serves chart.js to its dashboard (require.resolve)');
    assert.equal(serviceDeps('task-worker', { rootFiles }).dependencies['chart.js'], undefined);
  });

  test('the pruned lock is a closed subset of the root lock', () => {
    for (const service of SERVICES) {
      const { manifest, lock } = prunedManifest(service, { rootFiles });
      assert.deepEqual(lock.packages[''].dependencies, manifest.dependencies);
      for (const [path, entry] of Object.entries(lock.packages)) {
        if (path === '') continue;
        assert.equal(entry, rootFiles.lock.packages[path], `${service}: ${path} differs from the root lock`);
        assert.ok(!entry.dev, `${service}: ${path} is a development package`);
        for (const dep of Object.keys(entry.dependencies ?? {})) {
          let base = path;
          let found = false;
          for (;;) {
            if (lock.packages[`${base ? `${base}/` : ''}node_modules/${dep}`]) {
              found = true;
              break;
            }
            if (!base) break;
            const i = base.lastIndexOf('node_modules/');
            base = i <= 0 ? '' : base.slice(0, i - 1);
          }
          assert.ok(found, `${service}: ${path} needs ${dep}, missing from the pruned lock`);
        }
      }
      assert.ok(!lock.packages['node_modules/typescript'] && !lock.packages['node_modules/nx']);
    }
    assert.throws(() => prunedLock(rootFiles.lock, { name: 'x', version: '0.0.0', dependencies: { 'no-such-package-here': '1.0.0' } }), /no no-such-package-here/);
  });

  test('pruned install: npm ci --omit=dev, then the app loads from it (KEELSON_DEPLOY_INSTALL=1)', { skip: process.env.KEELSON_DEPLOY_INSTALL !== '1' && 'set KEELSON_DEPLOY_INSTALL=1 to run the pruned installs (slow)' }, () => {
    const lines = [];
    for (const service of SERVICES) {
      const dir = mkdtempSync(join(tmpdir(), `keelson-prune-${service}-`));
      try {
        const r = installPruned(service, dir);
        verifyInstalled(service, dir);
        lines.push(`${service.padEnd(15)} node_modules ${(r.nodeModules / 1048576).toFixed(1)} MiB, dist ${(r.dists / 1048576).toFixed(1)} MiB`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    }
    console.log(lines.join('\n'));
  });
});

// ------------------------------------------------------------------------------------------- Dockerfile
const dockerfile = readFileSync(join(ROOT, 'deploy/docker/Dockerfile'), 'utf8');

/** Instructions with continuation lines joined and comments dropped, grouped by stage. */
function parseDockerfile(text) {
  const lines = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.replace(/\s+$/, '');
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) lines.push(current.trim());
    current = '';
  }
  const globalArgs = {};
  const stages = [];
  for (const line of lines) {
    const [, op, rest] = /^(\w+)\s+([\s\S]*)$/.exec(line) ?? [];
    const instr = { op: op.toUpperCase(), rest };
    if (instr.op === 'FROM') {
      const [, image, name] = /^(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(rest);
      stages.push({ image, name, instructions: [] });
    } else if (!stages.length && instr.op === 'ARG') {
      const [k, v] = rest.split('=');
      globalArgs[k] = v;
    } else stages.at(-1).instructions.push(instr);
  }
  return { globalArgs, stages };
}

describe('deploy/docker/Dockerfile', () => {
  const { globalArgs, stages } = parseDockerfile(dockerfile);
  const expand = (s) => s.replace(/\$\{(\w+)\}/g, (_, k) => globalArgs[k] ?? `\${${k}}`);
  const runtime = stages.at(-1);
  const ops = (stage, op) => stage.instructions.filter((i) => i.op === op);

  test('multi-stage: build, prune, runtime', () => {
    assert.deepEqual(stages.map((s) => s.name), ['build', 'prune', 'runtime']);
  });

  test('every base image is pinned to a version, never latest; the Node majors agree', () => {
    for (const stage of stages) {
      const image = expand(stage.image);
      assert.doesNotMatch(image, /\$\{/, `${stage.name}: ${stage.image} uses an ARG without a default`);
      const tag = image.split('@')[0].split('/').pop().split(':')[1];
      assert.ok(tag, `${stage.name}: ${image} has no tag`);
      assert.doesNotMatch(tag, /latest/, `${stage.name}: ${image}`);
      assert.match(image, /\d/, `${stage.name}: ${image} names no version`);
    }
    assert.match(globalArgs.NODE_VERSION, /^\d+\.\d+\.\d+$/, 'NODE_VERSION is an exact release');
    assert.equal(globalArgs.NODE_VERSION.split('.')[0], globalArgs.NODE_MAJOR, 'build and runtime Node majors differ: native modules would not load');
    assert.match(expand(stages[0].image), /^node:\d+\.\d+\.\d+-bookworm-slim$/);
    assert.match(expand(runtime.image), /^gcr\.io\/distroless\/nodejs\d+-debian12:nonroot$/, 'the runtime is distroless Debian 12, the same glibc as the build');
  });

  test('the runtime stage: non-root, health check, production settings, nothing but copies', () => {
    const user = ops(runtime, 'USER').at(-1)?.rest;
    assert.ok(user, 'no USER in the runtime stage');
    assert.doesNotMatch(user, /^(root|0)(:|$)/, `runtime USER ${user}`);
    const hc = ops(runtime, 'HEALTHCHECK')[0]?.rest ?? '';
    assert.match(hc, /CMD \[.*healthcheck\.js/, 'HEALTHCHECK runs the node health check');
    assert.match(hc, /--interval=\S+/);
    assert.deepEqual(ops(runtime, 'RUN'), [], 'the runtime stage runs nothing (no shell, no npm)');
    const env = ops(runtime, 'ENV').map((i) => i.rest).join(' ');
    assert.match(env, /NODE_ENV=production/);
    assert.match(env, /HOST=0\.0\.0\.0/);
    assert.ok(ops(runtime, 'EXPOSE').length, 'EXPOSE the service port');
    for (const copy of ops(runtime, 'COPY')) assert.match(copy.rest, /--from=prune/, `runtime copies only the pruned result: COPY ${copy.rest}`);
    assert.match(ops(runtime, 'CMD')[0]?.rest ?? '', /^\[/, 'exec-form CMD: node is PID 1 and gets SIGTERM');
  });

  test('dependencies: full install only to compile; npm ci --omit=dev of the pruned lock; no npm install', () => {
    const prune = stages.find((s) => s.name === 'prune');
    const pruneRuns = ops(prune, 'RUN').map((i) => i.rest).join('\n');
    assert.match(pruneRuns, /service-deps\.mjs "\$\{SERVICE\}" --out/);
    assert.match(pruneRuns, /npm ci --omit=dev/);
    for (const stage of stages) {
      for (const run of ops(stage, 'RUN')) assert.doesNotMatch(run.rest, /npm (install|i|add)\b/, `${stage.name}: ${run.rest}`);
    }
    assert.match(ops(stages[0], 'RUN').map((i) => i.rest).join('\n'), /npx tsc -b "apps\/\$\{SERVICE\}"/);
  });

  test('no secret in the image: no ENV or ARG with a key-like name, no secret files copied', () => {
    for (const stage of stages) {
      for (const i of stage.instructions.filter((x) => x.op === 'ENV' || x.op === 'ARG')) {
        for (const name of i.rest.match(/\b[A-Za-z_][A-Za-z0-9_]*(?==)|^[A-Za-z_][A-Za-z0-9_]*$/g) ?? []) {
          assert.doesNotMatch(name, /(KEY|SECRET|PASSWORD|TOKEN|CREDENTIAL)S?$/i, `${stage.name}: ${i.op} ${name}`);
        }
      }
      for (const copy of ops(stage, 'COPY')) assert.doesNotMatch(copy.rest, /compose\/secrets|\.nk\b|(^|\s)\.env\b|\.keelson/, copy.rest);
    }
    const ignore = readFileSync(join(ROOT, 'deploy/docker/Dockerfile.dockerignore'), 'utf8');
    assert.equal(ignore, readFileSync(join(ROOT, 'deploy/docker/.dockerignore'), 'utf8'), 'the two .dockerignore copies differ');
    for (const entry of ['**/node_modules', '**/dist', '.keelson', '.git', 'deploy/compose/secrets', '**/*.nk', '**/.env']) {
      assert.ok(ignore.split('\n').includes(entry), `.dockerignore lacks ${entry}`);
    }
  });

  test('the service ports the Dockerfile checks are the config schemas\' defaults', async () => {
    for (const service of SERVICES) {
      const mod = await import(join(ROOT, 'apps', service, 'dist', 'config.js'));
      const schema = Object.entries(mod).find(([k]) => /ConfigSchema$/.test(k))?.[1];
      assert.ok(schema?.shape, `${service}: no *ConfigSchema export in dist/config.js`);
      const key = service === 'gateway' ? 'PORT' : 'HEALTH_PORT';
      assert.equal(schema.shape[key].parse(undefined), SERVICE_PORTS[service], `${service} ${key}`);
    }
  });
});

describe('tools/deploy/healthcheck.js', () => {
  const run = (env, path) =>
    new Promise((resolve) => {
      const child = spawn(process.execPath, [join(ROOT, 'tools/deploy/healthcheck.js'), ...(path ? [path] : [])], { env: { PATH: process.env.PATH, ...env }, stdio: 'ignore' });
      child.on('exit', (code) => resolve(code));
    });

  test('exit 0 on 200, 1 on anything else or nothing listening', async () => {
    const server = createServer((req, res) => {
      res.statusCode = req.url === '/healthz' ? 200 : 503;
      res.end();
    });
    await new Promise((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address();
    try {
      assert.equal(await run({ HEALTH_PORT: String(port) }), 0);
      assert.equal(await run({ PORT: String(port) }), 0);
      assert.equal(await run({ HEALTH_PORT: String(port) }, '/readyz'), 1);
    } finally {
      await new Promise((r) => server.close(r));
    }
    assert.equal(await run({ HEALTH_PORT: String(port) }), 1);
  });
});
