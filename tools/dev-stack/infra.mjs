// NATS (with JetStream) and Redis for the local stack: reuse what already answers at NATS_URL / REDIS_URL,
// otherwise install the Debian packages if we may, and run our own servers with data under .keelson/.
import { spawnSync } from 'node:child_process';
import { accessSync, constants, mkdirSync } from 'node:fs';
import net from 'node:net';
import { delimiter, join } from 'node:path';
import { StackError } from './ui.mjs';

export const DEFAULT_NATS_URL = 'nats://127.0.0.1:4222';
/** With NATS auth (the default), the stack runs its own nats-server here: a shared one cannot know our users. */
export const DEFAULT_AUTH_NATS_PORT = 4223;
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';
const LOCAL_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '0.0.0.0']);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** First server of a (possibly comma-separated) URL; a bare host:port gets the scheme added. */
export function parseServerUrl(raw, scheme, defaultPort) {
  const first = raw.split(',')[0].trim();
  let u;
  try {
    u = new URL(first.includes('://') ? first : `${scheme}://${first}`);
  } catch {
    throw new StackError(`${raw} is not a valid ${scheme} URL`);
  }
  const host = u.hostname.replace(/^\[|\]$/g, '');
  return {
    host,
    port: u.port ? Number(u.port) : defaultPort,
    local: LOCAL_HOSTS.has(host),
    user: decodeURIComponent(u.username),
    pass: decodeURIComponent(u.password),
  };
}

/** Connects, optionally sends a line, and returns the first line the server says (or what came before a timeout). */
export function probeTcp(host, port, { send, timeoutMs = 1500 } = {}) {
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let connected = false;
    let buf = '';
    const done = () => {
      clearTimeout(timer);
      sock.destroy();
      resolve({ reachable: connected, firstLine: buf.split(/\r?\n/)[0] });
    };
    const timer = setTimeout(done, timeoutMs);
    sock.on('connect', () => {
      connected = true;
      if (send) sock.write(send);
    });
    sock.on('data', (d) => {
      buf += d;
      if (buf.includes('\n')) done();
    });
    sock.on('error', done);
    sock.on('close', done);
  });
}

/** A NATS server greets every client with `INFO {json}`; that JSON says whether JetStream is on. */
export async function probeNats(host, port, timeoutMs) {
  const r = await probeTcp(host, port, { timeoutMs });
  if (!r.reachable) return { reachable: false };
  if (!r.firstLine.startsWith('INFO ')) return { reachable: true, isServer: false };
  let info = {};
  try {
    info = JSON.parse(r.firstLine.slice(5));
  } catch {
    /* keep {} : treated as no JetStream */
  }
  return { reachable: true, isServer: true, jetstream: info.jetstream === true, version: info.version };
}

/** Redis answers PING with +PONG, or with an -ERROR (e.g. NOAUTH) that still proves it is Redis. */
export async function probeRedis(host, port, timeoutMs) {
  const r = await probeTcp(host, port, { send: 'PING\r\n', timeoutMs });
  if (!r.reachable) return { reachable: false };
  return { reachable: true, isServer: /^[+-]/.test(r.firstLine) };
}

/** PATH first, then the sbin/bin folders a non-root PATH often lacks (Debian puts nats-server in /usr/sbin). */
export function findBinary(name, pathEnv = process.env.PATH ?? '') {
  const dirs = [...pathEnv.split(delimiter).filter(Boolean), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      /* not here */
    }
  }
  return null;
}

/** What to do about missing server binaries: a command we may run, or a message telling the user what to run. */
export function installPlan(pkgs, { isRoot, hasApt }) {
  const list = pkgs.join(' ');
  if (hasApt && isRoot) return { command: `apt-get update && apt-get install -y ${list}` };
  const how = hasApt
    ? `  sudo apt-get update && sudo apt-get install -y ${list}`
    : `  ${pkgs.map((p) => (p === 'redis-server' ? 'Redis (redis-server), e.g. `brew install redis`' : 'NATS (nats-server), e.g. `brew install nats-server`')).join('\n  ')}`;
  return { message: `${list} not found. Install with:\n${how}\nor point NATS_URL / REDIS_URL at servers you already run, then rerun \`npm start\`.` };
}

const KINDS = {
  nats: { label: 'NATS', envVar: 'NATS_URL', scheme: 'nats', defaultUrl: DEFAULT_NATS_URL, defaultPort: 4222, bin: 'nats-server', probe: probeNats },
  redis: { label: 'Redis', envVar: 'REDIS_URL', scheme: 'redis', defaultUrl: DEFAULT_REDIS_URL, defaultPort: 6379, bin: 'redis-server', probe: probeRedis },
};

/** Refuses what the stack cannot use: something that is not the server, NATS without JetStream, an unreachable remote. */
function check(t) {
  const { label, envVar } = t;
  if (t.auth && t.state.reachable)
    throw new StackError(
      `Something already listens on ${t.url}, where the stack runs its own NATS with the generated users and permissions. ` +
        `Stop it, or set KEELSON_NATS_PORT to a free port (or NATS_URL to use a NATS of your own, without auth).`,
    );
  if (t.state.reachable && !t.state.isServer)
    throw new StackError(`Something that is not ${label} answers at ${t.url} (${envVar}). Free that port or set ${envVar}.`);
  if (t.kind === 'nats' && t.state.reachable && !t.state.jetstream)
    throw new StackError(
      `NATS at ${t.url} runs without JetStream, which Keelson needs. Restart it with -js (or a \`jetstream {}\` block; ` +
        `if it is the distro service: \`systemctl stop nats-server\`), or set NATS_URL to a NATS with JetStream.`,
    );
  if (!t.state.reachable && !t.addr.local)
    throw new StackError(`${label} is not reachable at ${t.url} (${envVar}). Start it, or unset ${envVar} so the dev stack runs its own.`);
}

function serverArgs(t, bind, dir) {
  const { port, user, pass } = t.addr;
  if (t.kind === 'nats') {
    // The generated users and permissions (flags still win for address, port and storage).
    if (t.auth) return ['-c', t.auth.configFile, '-a', bind, '-p', String(port), '-js', '-sd', dir];
    const auth = user && pass ? ['--user', user, '--pass', pass] : user ? ['--auth', user] : [];
    return ['-a', bind, '-p', String(port), '-js', '-sd', dir, ...auth];
  }
  return ['--port', String(port), '--bind', bind, '--dir', dir, '--appendonly', 'yes', ...(pass ? ['--requirepass', pass] : [])];
}

/**
 * Makes NATS and Redis reachable. Servers it starts run under `sup` (restarted if they die, stopped with it).
 * With `natsAuth` ({ url, configFile }), NATS is never reused: the stack starts its own at that URL with the
 * generated configuration (users and permissions), and refuses a port something else holds.
 * @returns {Promise<Array<{ label: string, url: string, started: boolean, dataDir?: string }>>}
 */
export async function ensureInfra({ env = process.env, dataDir, logsDir, sup, log, probeTimeoutMs = 1500, natsAuth }) {
  const targets = Object.entries(KINDS).map(([kind, k]) => {
    const auth = kind === 'nats' && natsAuth ? natsAuth : undefined;
    const url = auth ? auth.url : env[k.envVar] || k.defaultUrl;
    return { kind, ...k, url, auth, addr: parseServerUrl(url, k.scheme, k.defaultPort) };
  });
  const probeAll = async () => {
    for (const t of targets) t.state = await t.probe(t.addr.host, t.addr.port, probeTimeoutMs);
    targets.forEach(check);
  };
  await probeAll();

  const missing = targets.filter((t) => !t.state.reachable && !findBinary(t.bin, env.PATH));
  if (missing.length) {
    const pkgs = missing.map((t) => t.bin); // Debian's package names equal the binary names
    const plan = installPlan(pkgs, { isRoot: process.getuid?.() === 0, hasApt: Boolean(findBinary('apt-get', env.PATH)) });
    if (!plan.command) throw new StackError(plan.message);
    log(`${pkgs.join(' and ')} not installed; running: ${plan.command}`);
    const r = spawnSync('sh', ['-c', plan.command], { stdio: 'inherit', env: { ...env, DEBIAN_FRONTEND: 'noninteractive' } });
    if (r.status !== 0) throw new StackError(`\`${plan.command}\` failed (exit ${r.status}). Install ${pkgs.join(' ')} yourself and rerun.`);
    await probeAll(); // a package's post-install may have started its distro service: reuse it then
  }

  const summary = [];
  for (const t of targets) {
    if (t.state.reachable) {
      log(`${t.label}: using the server at ${t.url}`);
      summary.push({ label: t.label, url: t.url, started: false });
      continue;
    }
    const dir = join(dataDir, t.kind);
    mkdirSync(dir, { recursive: true });
    const bin = findBinary(t.bin, env.PATH);
    const bind = ['localhost', '0.0.0.0'].includes(t.addr.host) ? '127.0.0.1' : t.addr.host;
    log(`${t.label}: starting ${t.bin} on ${bind}:${t.addr.port} (data in ${dir}${t.auth ? `; users and permissions from ${t.auth.configFile}` : ''})`);
    sup.start({ name: t.kind, command: bin, args: serverArgs(t, bind, dir), logFile: join(logsDir, `${t.kind}.log`), echo: false, match: bin });
    await waitUntilUp(t, sup, probeTimeoutMs);
    summary.push({ label: t.label, url: t.url, started: true, dataDir: dir });
  }
  return summary;
}

async function waitUntilUp(t, sup, probeTimeoutMs, timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const s = sup.stats(t.kind);
    if (s.lastExit) break; // it died on start-up (bad port, bad data dir): report instead of a restart loop
    const state = await t.probe(t.addr.host, t.addr.port, probeTimeoutMs);
    if (state.reachable && state.isServer && (t.kind !== 'nats' || state.jetstream)) return;
    await sleep(200);
  }
  const tail = sup.tail(t.kind, 15).map((l) => `    ${l}`).join('\n');
  throw new StackError(`${t.bin} did not come up at ${t.url}. Its last output:\n${tail || '    (none)'}`);
}
