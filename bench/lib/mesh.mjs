// The mesh the benchmark drives: its own nats-server and redis-server on free ports (never the shared
// 4222/6379), then gateway, session-agent and task-worker replicas as separate processes, the way
// e2e/src/support/mesh.ts starts them. A variant of startMesh because the benchmark needs per-service
// environment (the profiler preload goes to one process only) and bench tenants with their own API keys.
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startApp, startNats, startRedis } from '../../libs/testing/dist/index.js';

const sha = (key) => createHash('sha256').update(key).digest('hex');

/** One API key per bench tenant: each phase has its own tenant, so its tasks and results never mix. */
export function benchKeys(tenants) {
  return Object.fromEntries(tenants.map((tenant) => [tenant, `ks_bench_${tenant.replace(/-/g, '_')}`]));
}

export async function startInfra() {
  const [nats, redis] = await Promise.all([startNats(), startRedis()]);
  return {
    nats,
    redis,
    async stop() {
      await Promise.allSettled([nats.stop(), redis.stop()]);
    },
  };
}

/**
 * Starts gateway, session-agents and task-workers against `infra`, one after another (two cores).
 * `envFor(name)` adds environment for one process, named `<service>-<n>`.
 */
export async function startServices(infra, { keys, taskWorkers = 2, sessionAgents = 1, envFor = () => ({}) }) {
  const keysDir = mkdtempSync(join(tmpdir(), 'keelson-bench-'));
  const keysFile = join(keysDir, 'api-keys.json');
  writeFileSync(
    keysFile,
    JSON.stringify({
      keys: Object.entries(keys).map(([tenant, key]) => ({ id: `bench-${tenant}`, tenant, sha256: sha(key), scopes: ['*'] })),
    }),
  );
  const common = { NATS_URL: infra.nats.url, REDIS_URL: infra.redis.url, LOG_LEVEL: 'warn', KEELSON_API_KEYS_FILE: keysFile };
  const apps = new Map();
  /** Each process's HTTP base (the gateway's API, the others' health and /metrics port). */
  const bases = new Map();
  const counts = new Map();
  let gatewayBase;

  const start = async (service) => {
    const n = (counts.get(service) ?? 0) + 1;
    counts.set(service, n);
    const name = `${service}-${n}`;
    const port = await freePort();
    const portVar = service === 'gateway' ? 'PORT' : 'HEALTH_PORT';
    const app = await startApp({
      name: service,
      env: { ...common, SERVICE_NAME: service, [portVar]: String(port), ...envFor(name) },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      readyTimeoutMs: 60_000,
    });
    apps.set(name, app);
    bases.set(name, `http://127.0.0.1:${port}`);
    if (service === 'gateway') gatewayBase = `http://127.0.0.1:${port}`;
    return app;
  };

  try {
    await start('gateway');
    for (let i = 0; i < sessionAgents; i++) await start('session-agent');
    for (let i = 0; i < taskWorkers; i++) await start('task-worker');
  } catch (err) {
    await Promise.allSettled([...apps.values()].map((app) => app.stop()));
    rmSync(keysDir, { recursive: true, force: true });
    throw err;
  }

  return {
    base: gatewayBase,
    apps,
    bases,
    /** The task-worker replicas. */
    workers: () => [...apps.entries()].filter(([name]) => name.startsWith('task-worker-')).map(([, app]) => app),
    async stop() {
      await Promise.allSettled([...apps.values()].map((app) => app.stop()));
      rmSync(keysDir, { recursive: true, force: true });
    },
  };
}
