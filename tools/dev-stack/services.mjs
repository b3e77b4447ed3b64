// The six Keelson services, how each is started, and how the stack knows it is ready.
import http from 'node:http';
import { join } from 'node:path';
import { StackError } from './ui.mjs';

/**
 * The one service table. The gateway serves HTTP (and /readyz) on PORT; the others serve only their
 * health endpoints, on HEALTH_PORT = KEELSON_HEALTH_PORT_BASE + healthOffset. Services marked `agents` read
 * the agent files of AGENTS_DIR.
 */
export const SERVICES = [
  { name: 'gateway', portVar: 'PORT', agents: true },
  { name: 'session-agent', portVar: 'HEALTH_PORT', healthOffset: 0, agents: true },
  { name: 'task-worker', portVar: 'HEALTH_PORT', healthOffset: 1, agents: true },
  { name: 'memory-service', portVar: 'HEALTH_PORT', healthOffset: 2 },
  { name: 'audit-service', portVar: 'HEALTH_PORT', healthOffset: 3 },
  { name: 'guard-service', portVar: 'HEALTH_PORT', healthOffset: 4 },
];

function portFrom(env, name, fallback) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new StackError(`${name}=${raw} is not a TCP port`);
  return n;
}

/**
 * Everything needed to spawn each service.
 * @param {{ env: NodeJS.ProcessEnv, appsDir: string, natsUrl: string, redisUrl: string, keysFile: string, agentsDir: string,
 *   natsIdentities?: Record<string, { seedFile: string, inboxPrefix: string }> }} o
 *   agentsDir: the repo's agents/ folder, used unless the environment sets AGENTS_DIR;
 *   natsIdentities: each service's generated NATS identity (absent: services connect without credentials)
 */
export function servicePlan({ env, appsDir, natsUrl, redisUrl, keysFile, agentsDir, natsIdentities }) {
  const gatewayPort = portFrom(env, 'PORT', 8080);
  const base = portFrom(env, 'KEELSON_HEALTH_PORT_BASE', 8081);
  return SERVICES.map((s) => {
    const port = s.portVar === 'PORT' ? gatewayPort : base + s.healthOffset;
    // Inherit the user's environment (PATH, OTEL_*, …) but not the other kind of port variable,
    // so a PORT meant for the gateway never leaks into a worker and vice versa.
    const childEnv = { ...env, NATS_URL: natsUrl, REDIS_URL: redisUrl, LOG_LEVEL: env.LOG_LEVEL || 'info', SERVICE_NAME: s.name };
    delete childEnv.PORT;
    delete childEnv.HEALTH_PORT;
    // With the stack's own NATS, each service connects as itself (and nothing of the user's NATS_* settings leaks in).
    const identity = natsIdentities?.[s.name];
    if (identity) {
      for (const v of ['NATS_USER', 'NATS_PASSWORD_FILE']) delete childEnv[v];
      Object.assign(childEnv, { NATS_NKEY_SEED_FILE: identity.seedFile, NATS_INBOX_PREFIX: identity.inboxPrefix });
    }
    childEnv[s.portVar] = String(port);
    if (s.name === 'gateway') {
      childEnv.KEELSON_API_KEYS_FILE = keysFile;
      // The dev tenant is the local operator: the dashboard shows queues, replicas and every tenant.
      childEnv.OPS_OPERATOR_TENANTS = env.OPS_OPERATOR_TENANTS ?? 'dev';
    }
    if (s.agents) childEnv.AGENTS_DIR = env.AGENTS_DIR || agentsDir;
    return { name: s.name, port, script: join(appsDir, s.name, 'dist', 'main.js'), env: childEnv };
  });
}

/** One GET /readyz; true only on 200. */
export function isReady(port, timeoutMs = 2000) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/readyz', timeout: timeoutMs }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * Polls until every service answers 200 on /readyz, or the timeout passes.
 * @returns {Promise<string[]>} names still not ready (empty when all are)
 */
export async function waitReady(plan, { timeoutMs = 60_000, intervalMs = 500, onReady = () => {}, cancelled = () => false } = {}) {
  const pending = new Map(plan.map((s) => [s.name, s.port]));
  const deadline = Date.now() + timeoutMs;
  while (pending.size && Date.now() < deadline && !cancelled()) {
    await Promise.all(
      [...pending].map(async ([name, port]) => {
        if (await isReady(port)) {
          pending.delete(name);
          onReady(name);
        }
      }),
    );
    if (pending.size) await new Promise((r) => setTimeout(r, intervalMs));
  }
  return [...pending.keys()];
}
