// `npm start`: brings up the whole local Keelson stack and supervises it. See tools/dev-stack/README.md.
// Order matters: infra first (services need it), build, key, services; on the way out the reverse, so
// services can drain into NATS before it stops.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { serviceNodeFlags } from '../deploy/node-flags.mjs';
import { generate as generateNatsAuth } from '../nats-auth/generate.mjs';
import { DEFAULT_AUTH_NATS_PORT, DEFAULT_NATS_URL, DEFAULT_REDIS_URL, ensureInfra, probeTcp } from './infra.mjs';
import { ensureObjectStore } from './object-store.mjs';
import { DEV_TENANT, ensureApiKey } from './keys.mjs';
import { claimRunDir } from './runlock.mjs';
import { servicePlan, waitReady } from './services.mjs';
import { Supervisor } from './supervisor.mjs';
import { StackError, paint, say, warn } from './ui.mjs';

const HELP = `Usage: npm start [-- --check] [-- --quiet]
  --check   start everything, wait until all services are ready, print "ready", run the example invoke,
            stop, exit 0 (1 if something is not ready or the example fails)
  --quiet   only the supervisor's own lines on the console (service logs still go to .keelson/logs/)
Environment (defaults): PORT (8080), KEELSON_NATS_PORT (${DEFAULT_AUTH_NATS_PORT}: the stack's own NATS, with users and
  permissions), NATS_URL (unset; set it to use a NATS of your own, without auth), KEELSON_NATS_AUTH (1; 0 = the
  old way: reuse or start a NATS without auth at ${DEFAULT_NATS_URL}), REDIS_URL (${DEFAULT_REDIS_URL}),
  LOG_LEVEL (info), KEELSON_DEV_API_KEY (generated, kept in .keelson/dev-api-key), KEELSON_HEALTH_PORT_BASE (8081),
  KEELSON_READY_TIMEOUT (60 seconds), KEELSON_QUIET (0), KEELSON_DATA_DIR (.keelson), NO_COLOR.`;

const argv = process.argv.slice(2);
if (argv.includes('--help') || argv.includes('-h')) {
  console.log(HELP);
  process.exit(0);
}
const unknown = argv.filter((a) => !['--check', '--quiet'].includes(a));
if (unknown.length) {
  console.error(`unknown option: ${unknown.join(' ')}\n${HELP}`);
  process.exit(2);
}

const env = process.env;
const root = fileURLToPath(new URL('../..', import.meta.url));
const checkOnly = argv.includes('--check');
const quiet = argv.includes('--quiet') || env.KEELSON_QUIET === '1';
const dataDir = resolve(root, env.KEELSON_DATA_DIR || '.keelson');
const logsDir = join(dataDir, 'logs');
const runDir = join(dataDir, 'run');
// Hidden, for tests: run fake apps instead of apps/, and skip the tsc build they do not need.
const appsDir = resolve(root, env.KEELSON_STACK_APPS_DIR || 'apps');
const skipBuild = env.KEELSON_STACK_SKIP_BUILD === '1';
const readyTimeoutMs = Number(env.KEELSON_READY_TIMEOUT || 60) * 1000;
// NATS with the generated users and permissions (docs/operations.md), unless the user brings a NATS of their own.
const natsAuthOn = !env.NATS_URL && env.KEELSON_NATS_AUTH !== '0';
const natsUrl = natsAuthOn ? `nats://127.0.0.1:${env.KEELSON_NATS_PORT || DEFAULT_AUTH_NATS_PORT}` : env.NATS_URL || DEFAULT_NATS_URL;
// Paths inside the working folder are shown relative (".keelson/logs"), others in full.
const show = (p) => {
  const r = relative(process.cwd(), p);
  return r.startsWith('..') ? p : r || '.';
};

const infraSup = new Supervisor({ echo: false, pidDir: runDir });
const appSup = new Supervisor({ echo: !quiet, pidDir: runDir });
let build = null;
let releaseLock = () => {};
let stopping = false;
let firstSignalAt = 0;

async function shutdown(code) {
  if (stopping) return;
  stopping = true;
  appSup.close();
  infraSup.close();
  build?.kill('SIGTERM');
  say('stopping services…');
  await appSup.stop(15_000);
  await infraSup.stop(10_000); // only the servers this run started; reused ones are not ours
  releaseLock();
  say('stopped');
  process.exit(code);
}

function onSignal(sig) {
  const now = Date.now();
  if (!firstSignalAt) {
    firstSignalAt = now;
    say(`${sig}: stopping everything this started (press Ctrl-C again to kill at once)`);
    void shutdown(0);
    return;
  }
  // `npm start` forwards the terminal's SIGINT, so one keypress can arrive twice within milliseconds.
  if (now - firstSignalAt < 1000) return;
  warn('killing everything now');
  appSup.kill();
  infraSup.kill();
  releaseLock();
  process.exit(130);
}
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(sig, onSignal);

function fail(err) {
  warn(err instanceof StackError ? err.message : (err?.stack ?? String(err)));
  void shutdown(1);
}
process.on('uncaughtException', fail);

async function assertPortsFree(plan) {
  const busy = [];
  for (const s of plan) if ((await probeTcp('127.0.0.1', s.port, { timeoutMs: 500 })).reachable) busy.push(`${s.port} (${s.name})`);
  if (busy.length)
    throw new StackError(`Port ${busy.join(', ')} already in use. Stop what holds it, or set PORT / KEELSON_HEALTH_PORT_BASE.`);
}

function runBuild() {
  say('building… (npx tsc -b tsconfig.json)');
  const t0 = Date.now();
  return new Promise((resolveBuild, reject) => {
    build = spawn('npx', ['tsc', '-b', 'tsconfig.json'], { cwd: root, stdio: 'inherit' });
    build.on('error', reject);
    build.on('exit', (code, signal) => {
      build = null;
      if (code === 0) {
        say(`built in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
        resolveBuild();
      } else reject(new StackError(`The build failed (${signal ?? `exit ${code}`}); fix the errors above and rerun.`));
    });
  });
}

/** The generated NATS identities (kept across runs under .keelson/nats-auth); builds the libs it needs first. */
function prepareNatsAuth() {
  if (!skipBuild) {
    const r = spawnSync('npx', ['tsc', '-b', 'libs/messaging'], { cwd: root, stdio: 'inherit' });
    if (r.status !== 0) throw new StackError('Building libs/messaging (for the NATS users and permissions) failed; fix the errors above and rerun.');
  }
  try {
    return generateNatsAuth({ dir: join(dataDir, 'nats-auth'), tenants: [DEV_TENANT] });
  } catch (err) {
    throw new StackError(`Cannot write the NATS users and permissions: ${err.message}`);
  }
}

function banner({ plan, key, infra, natsAuth }) {
  const gw = `http://127.0.0.1:${plan.find((s) => s.name === 'gateway').port}`;
  const from = { env: 'from KEELSON_DEV_API_KEY', stored: `kept in ${show(key.keyFile)}`, generated: `new, kept in ${show(key.keyFile)}` }[key.source];
  const curl = `curl -s -H "Authorization: Bearer ${key.key}" -H 'content-type: application/json' -d '{"input":"hello"}' ${gw}/v1/agents/assistant/invoke`;
  const line = paint('1;32', '─'.repeat(72));
  console.log(
    [
      line,
      paint('1;32', ' Keelson dev stack is running'),
      `  Gateway   ${paint('1', gw)}`,
      `  API key   ${paint('1', key.key)}  (tenant ${DEV_TENANT}; ${from})`,
      `  Agent     assistant (offline model)`,
      `  Dashboard ${paint('1', `${gw}/dashboard`)}  (sign in with the API key)`,
      `  Try       ${curl}`,
      `  Logs      ${show(logsDir)}/<service>.log`,
      ...infra.map((i) => `  ${i.label.padEnd(9)} ${i.url} ${i.started ? `(started here, data in ${show(i.dataDir)})` : '(already running, reused)'}`),
      ...(natsAuth
        ? [
            `  NATS auth each service as itself (${show(natsAuth.configFile)}); tenant ${DEV_TENANT} publisher seed ${show(natsAuth.tenants[DEV_TENANT].seedFile)}` +
              ` (inboxPrefix ${natsAuth.tenants[DEV_TENANT].permissions.inboxPrefix}), operator ${show(natsAuth.operator.seedFile)}`,
          ]
        : [`  NATS auth off (NATS_URL or KEELSON_NATS_AUTH=0): permissions are not enforced`]),
      `  Ctrl-C stops everything this started.`,
      line,
    ].join('\n'),
  );
}

/** --check runs the banner's own example, so a green check means a newcomer's first call works. */
async function tryTheExample(plan, key) {
  const gw = `http://127.0.0.1:${plan.find((s) => s.name === 'gateway').port}`;
  try {
    const res = await fetch(`${gw}/v1/agents/assistant/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ input: 'hello' }),
      signal: AbortSignal.timeout(10_000),
    });
    const body = await res.text();
    if (res.status !== 200) throw new Error(`answered ${res.status}: ${body}`);
    say(`the example invoke answered 200: ${JSON.parse(body).output}`);
    return true;
  } catch (err) {
    warn(`the example invoke failed: ${err.message}`);
    return false;
  }
}

async function main() {
  mkdirSync(dataDir, { recursive: true, mode: 0o700 }); // holds the plaintext dev key
  releaseLock = await claimRunDir(runDir, say);
  const natsAuth = natsAuthOn ? prepareNatsAuth() : undefined;
  const natsIdentities =
    natsAuth && Object.fromEntries(Object.entries(natsAuth.services).map(([name, id]) => [name, { seedFile: id.seedFile, inboxPrefix: id.permissions.inboxPrefix }]));
  const plan = servicePlan({
    env,
    appsDir,
    natsUrl,
    natsIdentities,
    redisUrl: env.REDIS_URL || DEFAULT_REDIS_URL,
    keysFile: join(dataDir, 'api-keys.json'),
    agentsDir: join(root, 'agents'),
  });
  await assertPortsFree(plan);
  const infra = await ensureInfra({ env, dataDir, logsDir, sup: infraSup, log: say, natsAuth: natsAuth && { url: natsUrl, configFile: natsAuth.configFile } });
  // Audit payloads and archives: every service gets the same object storage settings.
  const s3 = await ensureObjectStore({ env, dataDir, logsDir, sup: infraSup, log: say, script: join(root, 'tools', 's3-server', 'main.mjs') });
  infra.push(s3);
  for (const s of plan) Object.assign(s.env, s3.env);
  if (!skipBuild && !stopping) await runBuild();
  const missing = plan.filter((s) => !existsSync(s.script)).map((s) => show(s.script));
  if (missing.length) throw new StackError(`Not built: ${missing.join(', ')}. Is each app referenced in tsconfig.json?`);
  const key = ensureApiKey(dataDir, env);
  // Production's node flags (the Dockerfile's CMD), and no --enable-source-maps: it keeps every loaded
  // module's source map in memory (about 30 MB per service). NODE_OPTIONS=--enable-source-maps npm start
  // turns TypeScript stack traces back on.
  const nodeFlags = serviceNodeFlags(root);
  for (const s of plan)
    appSup.start({ name: s.name, command: process.execPath, args: [...nodeFlags, s.script], cwd: root, env: s.env, logFile: join(logsDir, `${s.name}.log`), match: s.script });
  if (stopping) return;
  say(`started ${plan.length} services; waiting for them to be ready (up to ${readyTimeoutMs / 1000}s)…`);
  const onReady = (name) => say(`${name} is ready`);
  const notReady = await waitReady(plan, { timeoutMs: readyTimeoutMs, onReady, cancelled: () => stopping });
  if (stopping) return;
  for (const name of notReady) {
    const s = appSup.stats(name);
    warn(`${name} is not ready after ${readyTimeoutMs / 1000}s (started ${s.starts}x, ${s.running ? 'running' : 'not running'}); last log lines:`);
    for (const l of appSup.tail(name, 10)) console.error(`    ${l}`);
  }
  banner({ plan, key, infra, natsAuth });
  if (checkOnly) {
    if (notReady.length) {
      console.log(`not ready: ${notReady.join(', ')}`);
      return shutdown(1);
    }
    console.log('ready');
    return shutdown((await tryTheExample(plan, key)) ? 0 : 1);
  }
  if (notReady.length) {
    // Keep watching: a service stuck on a slow dependency may still come up.
    const rest = plan.filter((s) => notReady.includes(s.name));
    await waitReady(rest, { timeoutMs: Infinity, intervalMs: 2000, onReady, cancelled: () => stopping });
    if (!stopping) say('all services are ready now');
  }
}

main().catch(fail);
