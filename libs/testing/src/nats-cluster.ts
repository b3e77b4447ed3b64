import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { findBinary } from './binaries';
import { freePort } from './free-port';
import { ManagedProcess } from './managed-process';
import { forgetTempDir, trackTempDir } from './process-registry';
import type { ServerHandle } from './server-handle';
import { tcpProbe } from './tcp-probe';

export interface StartNatsClusterOptions {
  /** Nodes in the cluster; default 3 (JetStream needs a majority: 3 nodes survive the loss of one). */
  nodes?: number;
  /**
   * A nats-server configuration to include in every node's own configuration, e.g. the users and permissions
   * `generateNatsAuth` (@keelson/messaging) writes. The node files are written next to it (nats-server
   * resolves `include` relative to the including file).
   */
  configFile?: string;
  /** Cluster name; default `keelson-test`. */
  name?: string;
  /** Until every node is up and JetStream has a meta leader; default 30 000 ms. */
  readyTimeoutMs?: number;
}

/** One node of the cluster: a ServerHandle (kill/restart keep its store) plus its cluster and monitoring ports. */
export interface NatsClusterNode extends ServerHandle {
  /** The node's server_name (`n1`, `n2`, ...), as JetStream names peers and stream leaders. */
  name: string;
  clusterPort: number;
  monitorPort: number;
  /** Whether the process runs (false after kill() until restart()). */
  readonly running: boolean;
}

export interface NatsClusterHandle {
  nodes: NatsClusterNode[];
  /** Every node's client URL, comma-separated: what NATS_URL takes. */
  url: string;
  urls: string[];
  /** The node with this server_name (a stream's `cluster.leader`). */
  node(name: string): NatsClusterNode;
  /** The JetStream meta leader's server_name once every running node agrees on one. */
  waitForMetaLeader(timeoutMs?: number): Promise<string>;
  /** Stops every node and removes the stores and node configurations. Idempotent. */
  stop(): Promise<void>;
}

interface Jsz {
  meta_cluster?: { name?: string; leader?: string; cluster_size?: number };
}

/** GET a monitoring endpoint of a node; undefined when it does not answer. */
async function monitor<T>(port: number, path: string): Promise<{ status: number; body: T } | undefined> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2_000) });
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : {}) as T };
  } catch {
    return undefined;
  }
}

/**
 * Starts `nodes` nats-server processes on 127.0.0.1, free ports, routed to each other as one cluster with
 * JetStream (each its own store directory and server_name), and resolves once every node serves clients,
 * reports healthy and agrees on a JetStream meta leader. A node's kill() and restart() keep its store and
 * ports, as a crashed and restarted server in production would.
 */
export async function startNatsCluster(opts: StartNatsClusterOptions = {}): Promise<NatsClusterHandle> {
  const binary = findBinary(
    'nats-server',
    ['/usr/sbin/nats-server', '/usr/local/bin/nats-server'],
    'Install it (Debian: apt-get install nats-server) or put it on PATH.',
  );
  const count = opts.nodes ?? 3;
  const clusterName = opts.name ?? 'keelson-test';
  const readyTimeoutMs = opts.readyTimeoutMs ?? 30_000;
  const root = mkdtempSync(join(tmpdir(), 'keelson-nats-cluster-'));
  trackTempDir(root);
  // Node configurations sit next to the included file; without one, in the cluster's own directory.
  const confDir = opts.configFile ? dirname(opts.configFile) : root;
  const ports: Array<{ client: number; cluster: number; monitor: number }> = [];
  const taken = new Set<number>();
  const fresh = async (): Promise<number> => {
    for (;;) {
      const port = await freePort();
      if (!taken.has(port)) {
        taken.add(port);
        return port;
      }
    }
  };
  for (let i = 0; i < count; i++) ports.push({ client: await fresh(), cluster: await fresh(), monitor: await fresh() });

  const nodes = ports.map((p, i) => {
    const name = `n${i + 1}`;
    const storeDir = join(root, name);
    const confFile = join(confDir, `${basename(root)}-${name}.conf`);
    const routes = ports.filter((_, j) => j !== i).map((o) => `"nats-route://127.0.0.1:${o.cluster}"`);
    writeFileSync(
      confFile,
      [
        `server_name: "${name}"`,
        `listen: "127.0.0.1:${p.client}"`,
        `http: "127.0.0.1:${p.monitor}"`,
        `jetstream { store_dir: ${JSON.stringify(storeDir)} }`,
        `cluster {`,
        `  name: "${clusterName}"`,
        `  listen: "127.0.0.1:${p.cluster}"`,
        `  routes: [${routes.join(', ')}]`,
        `}`,
        ...(opts.configFile ? [`include "./${basename(opts.configFile)}"`] : []),
        '',
      ].join('\n'),
      { mode: 0o600 },
    );
    let proc: ManagedProcess | undefined;
    let stopped = false;
    const launch = () => {
      proc = new ManagedProcess({ label: `nats-server ${name} on 127.0.0.1:${p.client}`, command: binary, args: ['-c', confFile] });
      return proc;
    };
    const node: NatsClusterNode & { launch(): ManagedProcess; confFile: string } = {
      name,
      url: `nats://127.0.0.1:${p.client}`,
      port: p.client,
      clusterPort: p.cluster,
      monitorPort: p.monitor,
      storeDir,
      confFile,
      get pid() {
        return proc?.pid ?? -1;
      },
      get running() {
        return proc?.running ?? false;
      },
      logs: () => proc?.logs() ?? [],
      launch,
      async stop() {
        if (stopped) return;
        stopped = true;
        await proc?.signal('SIGTERM');
      },
      async kill(signal: NodeJS.Signals = 'SIGKILL') {
        await proc?.signal(signal);
      },
      async restart() {
        if (stopped) throw new Error(`nats-server ${name} was stopped; start a new cluster instead of restarting it`);
        await proc?.signal('SIGTERM');
        const started = launch();
        // Alone it may not serve JetStream until it has caught up, but it accepts clients at once.
        await started.waitUntilReady(() => tcpProbe(p.client, 'INFO '), readyTimeoutMs);
      },
    };
    return node;
  });

  const waitForMetaLeader = async (timeoutMs = readyTimeoutMs): Promise<string> => {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const running = nodes.filter((n) => n.running);
      const views = await Promise.all(running.map((n) => monitor<Jsz>(n.monitorPort, '/jsz')));
      const health = await Promise.all(running.map((n) => monitor<{ status?: string }>(n.monitorPort, '/healthz')));
      const leaders = new Set(views.map((v) => v?.body.meta_cluster?.leader ?? ''));
      const [leader] = [...leaders];
      if (leaders.size === 1 && leader && health.every((h) => h?.status === 200)) return leader;
      last = running.map((n, i) => `${n.name}: leader ${views[i]?.body.meta_cluster?.leader || '(none)'}, healthz ${health[i]?.status ?? 'no answer'}`).join('; ');
      if (Date.now() > deadline) throw new Error(`NATS cluster has no agreed JetStream meta leader after ${timeoutMs} ms (${last})`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await Promise.all(nodes.map((n) => n.stop()));
    for (const n of nodes) rmSync(n.confFile, { force: true });
    rmSync(root, { recursive: true, force: true });
    forgetTempDir(root);
  };

  try {
    const procs = nodes.map((n) => n.launch());
    await Promise.all(procs.map((proc, i) => proc.waitUntilReady(() => tcpProbe(ports[i]!.client, 'INFO '), readyTimeoutMs)));
    await waitForMetaLeader();
  } catch (err) {
    await stop();
    throw err;
  }
  const urls = nodes.map((n) => n.url);
  return {
    nodes,
    url: urls.join(','),
    urls,
    node(name: string) {
      const found = nodes.find((n) => n.name === name);
      if (!found) throw new Error(`no NATS cluster node named ${name} (nodes: ${nodes.map((n) => n.name).join(', ')})`);
      return found;
    },
    waitForMetaLeader,
    stop,
  };
}
