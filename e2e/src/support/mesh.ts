import { createHash } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  freePort,
  startApp,
  startNats,
  startNatsCluster,
  startRedis,
  startS3Server,
  type AppHandle,
  type NatsClusterHandle,
  type NatsServerHandle,
  type RedisServerHandle,
  type S3ServerHandle,
} from '@keelson/testing';
import { generateNatsAuth, natsAuthOptions, type NatsAuthFiles, type NatsCredentials } from '@keelson/messaging';
import { connect, type NatsConnection } from 'nats';

export const API_KEY = 'ks_e2e_dev_key';
export const OTHER_TENANT_KEY = 'ks_e2e_acme_key';

export interface MeshOptions {
  taskWorkers?: number;
  sessionAgents?: number;
  /** Extra environment for every service. */
  env?: Record<string, string>;
  /**
   * NATS with the generated users and permissions (docs/operations.md "NATS credentials and permissions"):
   * every service connects as itself, and a permission a service lacks fails the mesh's stop(). Default true;
   * false runs NATS without auth, as before.
   */
  natsAuth?: boolean;
  /**
   * Run NATS as a JetStream cluster of this many nodes (3 survives the loss of one) instead of one server:
   * every service gets all nodes in NATS_URL, comma-separated, and JETSTREAM_REPLICAS = min(3, nodes).
   */
  natsCluster?: number;
  /**
   * Replicas of each service (default 1 each; taskWorkers and sessionAgents still work and win for theirs).
   * Extra memory-service and audit-service replicas get their own data directories.
   */
  replicas?: Partial<Record<MeshService, number>>;
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes'] so that redis.restart() keeps the data. */
  redisArgs?: string[];
  /** Node's flags for every service (startApp's nodeArgs); default startApp's, --enable-source-maps. */
  nodeArgs?: string[];
  /** Extra nats-server arguments of the single server, e.g. ['--profile', '<port>'] (bench/lib/nats-profile). */
  natsArgs?: string[];
}

export const MESH_SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'] as const;
export type MeshService = (typeof MESH_SERVICES)[number];

export interface Mesh {
  base: string;
  /** Every gateway replica's base URL, `base` first. */
  bases: string[];
  /** The NATS server; with `natsCluster`, its first node (use `natsCluster` for the others). */
  nats: NatsServerHandle;
  /** The cluster's nodes, with `natsCluster`. */
  natsCluster?: NatsClusterHandle;
  redis: RedisServerHandle;
  /** The local S3 endpoint every service offloads audit payloads to and audit-service archives in. */
  s3: S3ServerHandle;
  /** audit-service's SQLite directory: a restarted replica given `{ AUDIT_DATA_DIR }` continues the same store. */
  auditDataDir: string;
  /** The test's own connection, as the operator identity (every subject). */
  nc: NatsConnection;
  /** The generated identities and server configuration; undefined with `natsAuth: false`. */
  natsAuth?: NatsAuthFiles;
  /** Per-tenant external publisher credentials (tenants dev and acme), for connectNats({ credentials }). */
  natsCredentials: Record<string, NatsCredentials>;
  apps: Map<string, AppHandle>;
  /** The HTTP port (gateway) or health and /metrics port of each app, by the same names as `apps`. */
  ports: Map<string, number>;
  /** Starts one more replica of a service, named `<service>-<n>`; `port` is its HTTP (gateway) or health port. */
  startReplica(service: string, env?: Record<string, string>): Promise<AppHandle & { port: number }>;
  stop(): Promise<void>;
}

/** The whole mesh as separate processes, the way production runs it, on free ports. */
export async function startMesh(options: MeshOptions = {}): Promise<Mesh> {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-e2e-'));
  // The tenants of the keys file below get external publisher identities.
  const natsAuth = options.natsAuth === false ? undefined : generateNatsAuth({ dir: join(dir, 'nats-auth'), tenants: ['dev', 'acme'] });
  const authConfig = natsAuth ? { configFile: natsAuth.configFile } : {};
  const [natsCluster, redis, s3] = await Promise.all([
    options.natsCluster ? startNatsCluster({ nodes: options.natsCluster, ...authConfig }) : undefined,
    startRedis(options.redisArgs ? { args: options.redisArgs } : {}),
    startS3Server(),
  ]);
  const nats: NatsServerHandle = natsCluster?.nodes[0] ?? (await startNats({ ...authConfig, ...(options.natsArgs ? { args: options.natsArgs } : {}) }));
  const natsUrl = natsCluster?.url ?? nats.url;
  const keysFile = join(dir, 'api-keys.json');
  writeFileSync(join(dir, 's3-access'), s3.accessKey);
  writeFileSync(join(dir, 's3-secret'), s3.secretKey);
  const auditDataDir = join(dir, 'audit');
  const sha = (key: string) => createHash('sha256').update(key).digest('hex');
  writeFileSync(
    keysFile,
    JSON.stringify({
      keys: [
        { id: 'e2e-dev', tenant: 'dev', sha256: sha(API_KEY), scopes: ['*'] },
        { id: 'e2e-acme', tenant: 'acme', sha256: sha(OTHER_TENANT_KEY), scopes: ['*'] },
      ],
    }),
  );
  const common = {
    NATS_URL: natsUrl,
    ...(natsCluster ? { JETSTREAM_REPLICAS: String(Math.min(3, natsCluster.nodes.length)) } : {}),
    REDIS_URL: redis.url,
    LOG_LEVEL: 'warn',
    OBJECT_STORE_URL: s3.url,
    OBJECT_STORE_ACCESS_KEY_FILE: join(dir, 's3-access'),
    OBJECT_STORE_SECRET_KEY_FILE: join(dir, 's3-secret'),
    OBJECT_STORE_ACCOUNT: 'e2e',
    // The tests' tool servers listen on loopback, which the egress policy refuses otherwise.
    EGRESS_ALLOW_ADDRESSES: '127.0.0.1',
    ...options.env,
  };
  const apps = new Map<string, AppHandle>();
  const counts = new Map<string, number>();
  const ports = new Map<string, number>();

  /** The service's own NATS identity; a name that is no Keelson service connects without one. */
  const natsEnv = (service: string): Record<string, string> => {
    const id = natsAuth?.services[service as keyof NatsAuthFiles['services']];
    return id ? { NATS_NKEY_SEED_FILE: id.seedFile, NATS_INBOX_PREFIX: id.permissions.inboxPrefix } : {};
  };
  const startReplica = async (service: string, env: Record<string, string> = {}): Promise<AppHandle & { port: number }> => {
    const n = (counts.get(service) ?? 0) + 1;
    counts.set(service, n);
    const port = await freePort();
    const portVar = service === 'gateway' ? 'PORT' : 'HEALTH_PORT';
    const app = await startApp({
      name: service,
      env: { ...common, ...natsEnv(service), SERVICE_NAME: service, [portVar]: String(port), KEELSON_API_KEYS_FILE: keysFile, ...env },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
      readyTimeoutMs: 60_000,
      nodeArgs: options.nodeArgs,
    });
    apps.set(`${service}-${n}`, app);
    ports.set(`${service}-${n}`, port);
    return Object.assign(app, { port });
  };

  const replicas = (service: MeshService, fallback?: number) => fallback ?? options.replicas?.[service] ?? 1;
  const gatewayPort = await freePort();
  const gateway = await startApp({
    name: 'gateway',
    env: { ...common, ...natsEnv('gateway'), SERVICE_NAME: 'gateway', PORT: String(gatewayPort), KEELSON_API_KEYS_FILE: keysFile },
    readyUrl: `http://127.0.0.1:${gatewayPort}/readyz`,
    readyTimeoutMs: 60_000,
    nodeArgs: options.nodeArgs,
  });
  apps.set('gateway-1', gateway);
  ports.set('gateway-1', gatewayPort);
  counts.set('gateway', 1);
  const bases = [`http://127.0.0.1:${gatewayPort}`];
  // Started one after another: two cores, and each boot compiles nothing but still loads a lot.
  for (let i = 1; i < replicas('gateway'); i++) bases.push(`http://127.0.0.1:${(await startReplica('gateway')).port}`);
  for (let i = 0; i < replicas('session-agent', options.sessionAgents); i++) await startReplica('session-agent');
  for (let i = 0; i < replicas('task-worker', options.taskWorkers); i++) await startReplica('task-worker');
  // A fresh memory directory per mesh: memories never leak from one test run into the next.
  for (let i = 0; i < replicas('memory-service'); i++) {
    await startReplica('memory-service', { MEMORY_DATA_DIR: mkdtempSync(join(tmpdir(), 'keelson-e2e-memory-')) });
  }
  await startReplica('audit-service', { AUDIT_DATA_DIR: auditDataDir });
  for (let i = 1; i < replicas('audit-service'); i++) {
    await startReplica('audit-service', { AUDIT_DATA_DIR: mkdtempSync(join(tmpdir(), 'keelson-e2e-audit-')) });
  }
  for (let i = 0; i < replicas('guard-service'); i++) await startReplica('guard-service');

  const operator: NatsCredentials | undefined = natsAuth && { kind: 'nkey', seedFile: natsAuth.operator.seedFile };
  const nc = await connect({
    servers: natsCluster?.urls ?? nats.url,
    name: 'e2e',
    ...(natsCluster ? { maxReconnectAttempts: -1, reconnectTimeWait: 250 } : {}),
    ...(await natsAuthOptions(operator)),
  });
  const natsCredentials: Record<string, NatsCredentials> = Object.fromEntries(
    Object.entries(natsAuth?.tenants ?? {}).map(([tenant, id]) => [tenant, { kind: 'nkey', seedFile: id.seedFile, inboxPrefix: id.permissions.inboxPrefix }]),
  );
  return {
    base: `http://127.0.0.1:${gatewayPort}`,
    bases,
    nats,
    ...(natsCluster ? { natsCluster } : {}),
    redis,
    s3,
    auditDataDir,
    nc,
    ...(natsAuth ? { natsAuth } : {}),
    natsCredentials,
    apps,
    ports,
    startReplica,
    async stop() {
      await nc.close().catch(() => undefined);
      await Promise.all([...apps.values()].map((app) => app.stop().catch(() => undefined)));
      await Promise.all([natsCluster ? natsCluster.stop() : nats.stop(), redis.stop(), s3.stop()]);
      // A service refused by NATS logs it (connectNats) and carries on degraded: fail the run loudly instead.
      const violations = [...apps].flatMap(([name, app]) => refusedByNats(app.logs()).map((l) => `${name}: ${l}`));
      if (violations.length) {
        throw new Error(`services were refused by NATS; their permissions (libs/contracts nats-permissions.ts) miss what they do:\n${[...new Set(violations)].slice(0, 20).join('\n')}`);
      }
    },
  };
}

/** How long after a disconnect a refused answer is still the reconnect's doing (a request's longest wait). */
const ANSWER_AFTER_RECONNECT_MS = 60_000;

/**
 * A process's NATS permission violations, less one kind that is no missing permission: an answer to a
 * request that arrived through a server the process has since left. nats-server tracks `allow_responses`
 * on the server that delivered the request, so after a reconnect (a node killed) that answer is refused;
 * the caller times out with a clear error (docs/security.md).
 */
function refusedByNats(lines: string[]): string[] {
  const at = (line: string) => {
    try {
      return Date.parse((JSON.parse(line) as { timestamp: string }).timestamp);
    } catch {
      return NaN;
    }
  };
  // The mesh logs at warn: the disconnect that precedes a reconnect is what is there to see.
  const reconnects = lines.filter((l) => l.includes('"nats disconnected; reconnecting"') || l.includes('"nats reconnected"')).map(at);
  return lines.filter((l) => {
    if (!l.includes('nats permissions violation')) return false;
    const answer = /"operation":"publish","subject":"_INBOX\.svc\./.test(l);
    const when = at(l);
    return !(answer && reconnects.some((r) => when >= r && when - r <= ANSWER_AFTER_RECONNECT_MS));
  });
}
