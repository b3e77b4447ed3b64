import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Streams, type StreamSpec } from '@keelson/contracts';
import { startNatsCluster, type NatsClusterHandle } from '@keelson/testing';
import type { JetStreamManager, NatsConnection } from 'nats';
import { connectNats } from './connection';
import { silentLogger } from './logger';
import { allStreams, provisionStreams } from './provisioning';

describe('provisioning streams with replicas on a three-node NATS cluster', () => {
  let cluster: NatsClusterHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    cluster = await startNatsCluster({ nodes: 3 });
    // The comma-separated list NATS_URL takes for a cluster.
    nc = await connectNats({ url: cluster.url, name: 'provisioning-cluster-spec', logger: silentLogger });
    jsm = await nc.jetstreamManager();
  });

  after(async () => {
    await nc?.close();
    await cluster?.stop();
  });

  it('creates every contract stream with 3 replicas, each placed on all three nodes', async () => {
    await provisionStreams(nc, allStreams(), { replicas: 3 });
    for (const spec of allStreams()) {
      const info = await jsm.streams.info(spec.name);
      assert.equal(info.config.num_replicas, 3, `${spec.name} replicas`);
      const peers = [info.cluster?.leader, ...(info.cluster?.replicas ?? []).map((r) => r.name)].filter(Boolean).sort();
      assert.deepEqual(peers, ['n1', 'n2', 'n3'], `${spec.name} placed on every node`);
    }
    // A second run changes nothing and does not fail.
    await provisionStreams(nc, allStreams(), { replicas: 3 });
  });

  it('scales an existing one-replica stream up to 3 in place, keeping its messages, and leaves it alone without the override', async () => {
    const spec: StreamSpec = { ...Streams.runs, name: 'PROV_SCALE', subjects: ['prov.scale.>'] };
    await provisionStreams(nc, [spec]);
    assert.equal((await jsm.streams.info(spec.name)).config.num_replicas, 1);
    const js = nc.jetstream();
    for (let i = 0; i < 5; i++) await js.publish(`prov.scale.${i}`, new Uint8Array([i]));

    await provisionStreams(nc, [spec], { replicas: 3 });
    const scaled = await jsm.streams.info(spec.name);
    assert.equal(scaled.config.num_replicas, 3);
    assert.equal(scaled.state.messages, 5, 'messages kept through the scale-up');

    // No override: the stream keeps the replicas a deployment gave it.
    await provisionStreams(nc, [spec]);
    assert.equal((await jsm.streams.info(spec.name)).config.num_replicas, 3);
  });
});
