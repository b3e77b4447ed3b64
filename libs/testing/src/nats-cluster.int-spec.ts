import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { connect, RetentionPolicy, StorageType, type NatsConnection } from 'nats';
import { startNatsCluster, type NatsClusterHandle } from './nats-cluster';
import { waitFor } from './wait-for';

describe('startNatsCluster', () => {
  const clusters: NatsClusterHandle[] = [];
  const connections: NatsConnection[] = [];
  after(async () => {
    await Promise.all(connections.map((nc) => nc.close().catch(() => undefined)));
    await Promise.all(clusters.map((c) => c.stop()));
  });

  it('starts three routed JetStream nodes with a meta leader; an R3 stream survives its leader being killed -9 and the node comes back', async () => {
    const cluster = await startNatsCluster({ nodes: 3 });
    clusters.push(cluster);
    assert.equal(cluster.nodes.length, 3);
    assert.equal(cluster.url, cluster.urls.join(','));
    assert.ok(cluster.nodes.every((n) => n.port !== 4222), 'never the shared port');
    const nc = await connect({ servers: cluster.urls, maxReconnectAttempts: -1, reconnectTimeWait: 100 });
    connections.push(nc);
    assert.equal(nc.info?.cluster, 'keelson-test');
    const jsm = await nc.jetstreamManager();
    const info = await jsm.streams.add({ name: 'CL', subjects: ['cl.>'], num_replicas: 3, storage: StorageType.File, retention: RetentionPolicy.Limits });
    assert.equal(info.config.num_replicas, 3);
    const js = nc.jetstream();
    for (let i = 0; i < 10; i++) await js.publish(`cl.${i}`, new Uint8Array([i]));

    const leaderName = await waitFor(async () => (await jsm.streams.info('CL')).cluster?.leader, { description: 'stream CL to have a leader', timeoutMs: 20_000 });
    const leader = cluster.node(leaderName);
    await leader.kill('SIGKILL');
    assert.equal(leader.running, false);
    // A new leader among the two left; the acknowledged messages are all there and writes go on.
    await waitFor(
      async () => {
        const now = await jsm.streams.info('CL').catch(() => undefined);
        return now?.cluster?.leader && now.cluster.leader !== leaderName && now.state.messages === 10 ? true : undefined;
      },
      { description: 'a new leader for CL holding all 10 messages', timeoutMs: 30_000, intervalMs: 200 },
    );
    await waitFor(async () => (await js.publish('cl.after', new Uint8Array([1])).catch(() => undefined)) ? true : undefined, {
      description: 'a publish acknowledged with one node down',
      timeoutMs: 30_000,
      intervalMs: 200,
    });

    await leader.restart();
    assert.ok(existsSync(leader.storeDir), 'the store survives kill and restart');
    await cluster.waitForMetaLeader();
    await waitFor(
      async () => {
        const now = await jsm.streams.info('CL');
        const replica = now.cluster?.replicas?.find((r) => r.name === leaderName);
        return replica?.current ? true : undefined;
      },
      { description: `${leaderName} to be a current replica of CL again`, timeoutMs: 30_000, intervalMs: 200 },
    );
  });

  it('includes a given configuration file (the generated authorization) in every node', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-cluster-auth-'));
    const configFile = join(dir, 'auth.conf');
    writeFileSync(configFile, 'authorization { users: [ { user: "u", password: "p" } ] }\n');
    const cluster = await startNatsCluster({ nodes: 3, configFile });
    clusters.push(cluster);
    await assert.rejects(connect({ servers: cluster.urls[1]!, maxReconnectAttempts: 0 }), /Authorization|AUTHORIZATION/i);
    const nc = await connect({ servers: cluster.urls[2]!, user: 'u', pass: 'p' });
    connections.push(nc);
    const info = await (await nc.jetstreamManager()).streams.add({ name: 'AUTH_R3', subjects: ['auth.>'], num_replicas: 3 });
    assert.equal(info.config.num_replicas, 3);
  });
});
