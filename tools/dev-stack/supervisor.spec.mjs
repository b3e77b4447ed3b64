// Tests for the dev stack (`npm start`). Run: node --test tools/dev-stack/supervisor.spec.mjs
// Hermetic: a throwaway nats-server / redis-server on free ports and fake apps in a temp folder; the
// shared servers on 4222/6379 are never touched.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { connect, nkeyAuthenticator } from 'nats';
import { ensureInfra, findBinary, installPlan, probeNats, probeTcp } from './infra.mjs';
import { ensureApiKey, sha256Hex } from './keys.mjs';
import { isAlive } from './runlock.mjs';
import { SERVICES } from './services.mjs';
import { StackError } from './ui.mjs';
import { Supervisor, backoffMs } from './supervisor.mjs';

const MAIN = fileURLToPath(new URL('./main.mjs', import.meta.url));
const NATS_BIN = findBinary('nats-server');
const REDIS_BIN = findBinary('redis-server');
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const tmp = mkdtempSync(join(tmpdir(), 'keelson-dev-stack-'));
const cleanups = [];
after(async () => {
  for (const fn of cleanups.reverse()) await fn();
  rmSync(tmp, { recursive: true, force: true });
});

async function waitFor(what, check, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(100);
  }
  assert.fail(`timed out after ${timeoutMs}ms waiting for ${what}`);
}

const canListen = (port) =>
  new Promise((resolve) => {
    const srv = net.createServer().once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });

/** A run of `n` consecutive free ports (the stack needs PORT plus five health ports). */
async function freePorts(n) {
  for (;;) {
    const base = 20_000 + Math.floor(Math.random() * 30_000);
    let ok = true;
    for (let p = base; ok && p < base + n; p++) ok = await canListen(p);
    if (ok) return Array.from({ length: n }, (_, i) => base + i);
  }
}

/** A throwaway server of our own, stopped after the file's tests. */
async function startServer(bin, args, port) {
  const child = spawn(bin, args, { stdio: 'ignore' });
  cleanups.push(async () => {
    child.kill('SIGKILL');
    await sleep(50);
  });
  await waitFor(`${bin} on ${port}`, async () => (await probeTcp('127.0.0.1', port, { timeoutMs: 300 })).reachable);
  return child;
}
const startNats = async (port, js = true) =>
  startServer(NATS_BIN, ['-a', '127.0.0.1', '-p', String(port), ...(js ? ['-js', '-sd', join(tmp, `nats-${port}`)] : [])], port);
const startRedis = async (port) => startServer(REDIS_BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', tmp], port);

describe('API key', () => {
  test('generates a ks_dev_ key, keeps it 0600, and the gateway file holds only its sha256', () => {
    const dir = join(tmp, 'keys1');
    const k = ensureApiKey(dir, {});
    assert.match(k.key, /^ks_dev_[A-Za-z0-9_-]{32}$/);
    assert.equal(k.source, 'generated');
    assert.equal(statSync(k.keyFile).mode & 0o777, 0o600);
    assert.equal(statSync(k.keysFile).mode & 0o777, 0o600);
    const text = readFileSync(k.keysFile, 'utf8');
    assert.ok(!text.includes(k.key), 'the hash file must not contain the plaintext key');
    assert.deepEqual(JSON.parse(text), { keys: [{ id: 'dev-local', tenant: 'dev', sha256: sha256Hex(k.key), scopes: ['*'] }] });
    const again = ensureApiKey(dir, {});
    assert.deepEqual([again.key, again.source], [k.key, 'stored'], 'a restart reuses the stored key');
  });

  test('KEELSON_DEV_API_KEY wins and is never written to disk', () => {
    const dir = join(tmp, 'keys2');
    const k = ensureApiKey(dir, { KEELSON_DEV_API_KEY: 'my-own-key' });
    assert.equal(k.source, 'env');
    assert.equal(JSON.parse(readFileSync(k.keysFile, 'utf8')).keys[0].sha256, sha256Hex('my-own-key'));
    assert.throws(() => statSync(k.keyFile), /ENOENT/);
  });
});

describe('Supervisor', () => {
  const script = (name, body) => {
    const file = join(tmp, name);
    writeFileSync(file, body);
    return file;
  };

  test('backoff doubles from 1s and caps at 30s', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 6].map((n) => backoffMs(n)), [1000, 2000, 4000, 8000, 16000, 30000, 30000]);
  });

  test('restarts a child that dies, with growing delays, and reports the exit code', async () => {
    const alerts = [];
    const sup = new Supervisor({ echo: false, baseMs: 50, alert: (m) => alerts.push(m) });
    sup.start({ name: 'crashy', command: process.execPath, args: [script('crash.js', 'console.log("hi"); process.exit(7)')], logFile: join(tmp, 'logs', 'crashy.log') });
    await waitFor('three starts', () => sup.stats('crashy').starts >= 3);
    await sup.stop(1000);
    assert.match(alerts[0], /crashy died \(exit code 7\); restarting in 0\.05s/);
    assert.match(alerts[1], /restarting in 0\.1s/);
    assert.match(readFileSync(join(tmp, 'logs', 'crashy.log'), 'utf8'), /^hi\nhi\n/, 'output goes to the log file');
  });

  test('a child that ran long enough before dying restarts at the base delay again', async () => {
    const alerts = [];
    const sup = new Supervisor({ echo: false, baseMs: 50, resetAfterMs: 100, alert: (m) => alerts.push(m) });
    sup.start({ name: 'slow', command: process.execPath, args: [script('slow.js', 'setTimeout(() => process.exit(1), 150)')], logFile: join(tmp, 'logs', 'slow.log') });
    await waitFor('three starts', () => sup.stats('slow').starts >= 3);
    await sup.stop(1000);
    assert.ok(alerts.slice(0, 2).every((a) => a.endsWith('restarting in 0.05s')), alerts.join('\n'));
  });

  test('stop() sends SIGTERM, then SIGKILL to a child that ignores it', async () => {
    const sup = new Supervisor({ echo: false, alert: () => {} });
    sup.start({ name: 'stubborn', command: process.execPath, args: [script('stubborn.js', 'process.on("SIGTERM", () => {}); console.log("up"); setInterval(() => {}, 1000)')], logFile: join(tmp, 'logs', 'stubborn.log') });
    await waitFor('the child to start', () => sup.tail('stubborn').includes('up'));
    const { pid } = sup.stats('stubborn');
    const t0 = Date.now();
    await sup.stop(300);
    assert.ok(!isAlive(pid), 'the child must be gone');
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(sup.stats('stubborn').lastExit.signal, 'SIGKILL');
    assert.equal(sup.stats('stubborn').starts, 1, 'a stopped child is not restarted');
  });
});

describe('infra', () => {
  test('without apt rights it prints the exact command instead of installing', () => {
    assert.match(installPlan(['nats-server', 'redis-server'], { isRoot: false, hasApt: true }).message, /sudo apt-get update && sudo apt-get install -y nats-server redis-server/);
    assert.equal(installPlan(['redis-server'], { isRoot: true, hasApt: true }).command, 'apt-get update && apt-get install -y redis-server');
  });

  test('reuses NATS (with JetStream) and Redis that already answer, and starts nothing', { skip: !NATS_BIN || !REDIS_BIN }, async () => {
    const [np, rp] = await freePorts(2);
    await startNats(np);
    await startRedis(rp);
    assert.equal((await probeNats('127.0.0.1', np)).jetstream, true);
    const started = [];
    const sup = { start: (s) => started.push(s.name) };
    const env = { PATH: process.env.PATH, NATS_URL: `nats://127.0.0.1:${np}`, REDIS_URL: `redis://localhost:${rp}` };
    const infra = await ensureInfra({ env, dataDir: join(tmp, 'reuse'), logsDir: join(tmp, 'reuse-logs'), sup, log: () => {} });
    assert.deepEqual(infra.map((i) => [i.label, i.started]), [['NATS', false], ['Redis', false]]);
    assert.deepEqual(started, []);
  });

  test('refuses a NATS without JetStream with a message that says so', { skip: !NATS_BIN }, async () => {
    const [np] = await freePorts(1);
    await startNats(np, false);
    const env = { PATH: process.env.PATH, NATS_URL: `nats://127.0.0.1:${np}`, REDIS_URL: 'redis://127.0.0.1:1' };
    await assert.rejects(ensureInfra({ env, dataDir: join(tmp, 'nojs'), logsDir: tmp, sup: {}, log: () => {} }), (err) => err instanceof StackError && /without JetStream/.test(err.message));
  });
});

describe('main.mjs with fake apps', { skip: !NATS_BIN || !REDIS_BIN }, () => {
  // A fake service: answers /readyz, writes its pid, crashes once on start-up if asked, can ignore SIGTERM.
  const FAKE = `
const http = require('node:http'), fs = require('node:fs');
const name = process.env.SERVICE_NAME, state = process.env.FAKE_STATE_DIR;
if (process.env.FAKE_CRASH_ONCE === name && !fs.existsSync(state + '/' + name + '.crashed')) {
  fs.writeFileSync(state + '/' + name + '.crashed', ''); process.exit(3);
}
fs.writeFileSync(state + '/' + name + '.pid', String(process.pid));
fs.writeFileSync(state + '/' + name + '.env', JSON.stringify(process.env));
http.createServer((q, r) => {
  if (q.url === '/readyz') return r.writeHead(200).end();
  if (q.url === '/v1/agents/assistant/invoke') return r.writeHead(200).end(JSON.stringify({ output: 'hi from ' + name }));
  r.writeHead(404).end();
})
  .listen(Number(process.env.PORT || process.env.HEALTH_PORT), '127.0.0.1');
console.log(JSON.stringify({ level: 'info', msg: 'up', service: name }));
process.on('SIGTERM', () => { if (!process.env.FAKE_IGNORE_TERM) process.exit(0); });
`;
  const appsDir = join(tmp, 'apps');
  for (const { name } of SERVICES) {
    mkdirSync(join(appsDir, name, 'dist'), { recursive: true });
    writeFileSync(join(appsDir, name, 'dist', 'main.js'), FAKE);
  }

  /** Starts main.mjs against a throwaway NATS it must reuse and a Redis port where it must start its own. */
  async function runStack(name, extraEnv = {}, args = []) {
    const [np, rp, ...ports] = await freePorts(8);
    await startNats(np);
    const state = join(tmp, `${name}-state`);
    mkdirSync(state, { recursive: true });
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, NO_COLOR: '1', KEELSON_STACK_APPS_DIR: appsDir, KEELSON_STACK_SKIP_BUILD: '1' };
    Object.assign(env, { KEELSON_DATA_DIR: join(tmp, `${name}-data`), FAKE_STATE_DIR: state, NATS_URL: `nats://127.0.0.1:${np}`, REDIS_URL: `redis://127.0.0.1:${rp}` });
    Object.assign(env, { PORT: String(ports[0]), KEELSON_HEALTH_PORT_BASE: String(ports[1]), ...extraEnv });
    const child = spawn(process.execPath, [MAIN, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run = { child, out: '', np, rp, ports, state, env };
    child.stdout.on('data', (d) => (run.out += d));
    child.stderr.on('data', (d) => (run.out += d));
    run.exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
    cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
    return run;
  }
  const pids = (run) => SERVICES.map((s) => Number(readFileSync(join(run.state, `${s.name}.pid`), 'utf8')));
  const answers = async (port) => (await probeTcp('127.0.0.1', port, { timeoutMs: 300 })).reachable;

  test('runs all six, restarts one that dies, prints key and URL, and Ctrl-C stops only what it started', async () => {
    const run = await runStack('e2e', { FAKE_CRASH_ONCE: 'task-worker' });
    await waitFor('the banner', () => run.out.includes('Keelson dev stack is running'), 30_000);
    assert.match(run.out, /task-worker died \(exit code 3\); restarting in 1s/);
    assert.match(run.out, new RegExp(`Gateway\\s+http://127\\.0\\.0\\.1:${run.ports[0]}`));
    const key = run.out.match(/Bearer (ks_dev_[A-Za-z0-9_-]{32})/)[1];
    const keysFile = join(run.env.KEELSON_DATA_DIR, 'api-keys.json');
    assert.equal(JSON.parse(readFileSync(keysFile, 'utf8')).keys[0].sha256, sha256Hex(key));
    const gwEnv = JSON.parse(readFileSync(join(run.state, 'gateway.env'), 'utf8'));
    assert.equal(gwEnv.KEELSON_API_KEYS_FILE, keysFile);
    assert.equal(gwEnv.NATS_URL, run.env.NATS_URL);
    const workerEnv = JSON.parse(readFileSync(join(run.state, 'task-worker.env'), 'utf8'));
    assert.deepEqual([workerEnv.HEALTH_PORT, workerEnv.PORT, workerEnv.SERVICE_NAME], [String(run.ports[2]), undefined, 'task-worker']);
    assert.ok(await answers(run.rp), 'the stack started its own Redis');
    const children = pids(run);

    run.child.kill('SIGINT');
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    for (const pid of children) assert.ok(!isAlive(pid), `service pid ${pid} must be stopped`);
    assert.ok(!(await answers(run.rp)), 'the Redis it started is stopped');
    assert.ok(await answers(run.np), 'the NATS it reused is left running');
  });

  test('without NATS_URL it runs its own NATS with the generated users and permissions; each service connects as itself', async () => {
    const [natsPort] = await freePorts(1);
    const run = await runStack('auth', { NATS_URL: '', KEELSON_NATS_PORT: String(natsPort) });
    await waitFor('the banner', () => run.out.includes('Keelson dev stack is running'), 30_000);
    const url = `nats://127.0.0.1:${natsPort}`;
    assert.match(run.out, new RegExp(`NATS\\s+${url.replace(/\./g, '\\.')} \\(started here`));
    assert.match(run.out, /NATS auth each service as itself/);
    const authDir = join(run.env.KEELSON_DATA_DIR, 'nats-auth');
    const seeds = new Set();
    for (const { name } of SERVICES) {
      const env = JSON.parse(readFileSync(join(run.state, `${name}.env`), 'utf8'));
      assert.equal(env.NATS_URL, url, `${name} uses the stack's NATS`);
      assert.equal(env.NATS_NKEY_SEED_FILE, join(authDir, `${name}.nk`));
      assert.equal(env.NATS_INBOX_PREFIX, `_INBOX.svc.${name}`);
      assert.equal(statSync(env.NATS_NKEY_SEED_FILE).mode & 0o777, 0o600, `${name}'s seed is private`);
      seeds.add(readFileSync(env.NATS_NKEY_SEED_FILE, 'utf8'));
      assert.equal(env.OPS_OPERATOR_TENANTS, name === 'gateway' ? 'dev' : undefined);
    }
    assert.equal(seeds.size, SERVICES.length, 'one identity per service');
    assert.match((await probeTcp('127.0.0.1', natsPort)).firstLine, /"auth_required":true/);
    await assert.rejects(connect({ servers: url, reconnect: false }), /AUTHORIZATION_VIOLATION|Authorization Violation/i);
    const seed = readFileSync(join(authDir, 'tenant-dev.nk'), 'utf8').trim();
    const dev = await connect({ servers: url, authenticator: nkeyAuthenticator(new TextEncoder().encode(seed)), inboxPrefix: '_INBOX.tenant.dev' });
    const ack = await dev.jetstream().publish('keelson.tasks.dev.assistant', new TextEncoder().encode('{}')).catch((err) => err);
    // The fake apps provision no streams, so no stream answers; the point is that the publish was allowed.
    assert.ok(!String(ack?.message ?? '').includes('Permissions Violation'), `the dev tenant may publish its tasks: ${ack?.message}`);
    await dev.close();

    run.child.kill('SIGINT');
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.ok(!(await answers(natsPort)), 'the NATS it started is stopped');
  });

  test('--check prints "ready", stops everything and exits 0', async () => {
    const run = await runStack('check', {}, ['--check', '--quiet']);
    assert.deepEqual(await run.exited, { code: 0, signal: null });
    assert.match(run.out, /^ready$/m);
    assert.ok(!run.out.includes('"msg":"up"'), '--quiet keeps service logs off the console');
    for (const pid of pids(run)) assert.ok(!isAlive(pid));
  });

  test('SIGTERM waits for services; a second signal kills at once', async () => {
    const run = await runStack('kill', { FAKE_IGNORE_TERM: '1' });
    await waitFor('the banner', () => run.out.includes('Keelson dev stack is running'), 30_000);
    const children = pids(run);
    run.child.kill('SIGTERM');
    await sleep(1500); // still waiting: the fakes ignore SIGTERM and the grace period is 15s
    assert.equal(run.child.exitCode, null);
    run.child.kill('SIGTERM');
    assert.equal((await run.exited).code, 130);
    await waitFor('services to be killed', () => children.every((pid) => !isAlive(pid)), 3000);
  });
});
