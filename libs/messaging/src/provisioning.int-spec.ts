import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Streams, type ConsumerSpec, type StreamSpec } from '@keelson/contracts';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import { RetentionPolicy, StorageType, type JetStreamManager, type NatsConnection } from 'nats';
import { connectNats } from './connection';
import { ProvisioningError } from './errors';
import { silentLogger } from './logger';
import { allStreams, MAX_DELIVER_HEADROOM, provisionConsumer, provisionStreams } from './provisioning';

describe('provisioning streams and consumers', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let jsm: JetStreamManager;

  before(async () => {
    nats = await startNats();
    nc = await connectNats({ url: nats.url, name: 'provisioning-spec', logger: silentLogger });
    jsm = await nc.jetstreamManager();
  });

  after(async () => {
    await nc.close();
    await nats.stop();
  });

  it('creates every contract stream with its spec, and a second run changes nothing', async () => {
    await provisionStreams(nc, allStreams());
    const first = await Promise.all(allStreams().map((s) => jsm.streams.info(s.name)));
    for (const [i, spec] of allStreams().entries()) {
      const cfg = first[i]!.config;
      assert.deepEqual(cfg.subjects, [...spec.subjects]);
      assert.equal(cfg.retention, spec.retention === 'workqueue' ? RetentionPolicy.Workqueue : RetentionPolicy.Limits);
      assert.equal(cfg.storage, StorageType.File);
      assert.equal(cfg.max_age, spec.maxAgeMs * 1_000_000, `${spec.name} max_age in nanoseconds`);
      assert.equal(cfg.duplicate_window, spec.duplicateWindowMs * 1_000_000);
      assert.equal(cfg.num_replicas, 1);
    }
    await provisionStreams(nc, allStreams());
    const second = await Promise.all(allStreams().map((s) => jsm.streams.info(s.name)));
    assert.deepEqual(
      second.map((s) => s.created),
      first.map((s) => s.created),
      'streams were not re-created',
    );
    assert.deepEqual(
      second.map((s) => s.config),
      first.map((s) => s.config),
    );
  });

  it('updates a stream whose spec changed, keeping its messages', async () => {
    const spec: StreamSpec = {
      name: 'PROV_UPDATE',
      subjects: ['prov.update.>'],
      retention: 'limits',
      maxAgeMs: 60_000,
      duplicateWindowMs: 10_000,
      description: 'v1',
    };
    await provisionStreams(nc, [spec]);
    await nc.jetstream().publish('prov.update.x', new Uint8Array([1]));
    await provisionStreams(nc, [{ ...spec, maxAgeMs: 120_000, subjects: ['prov.update.>', 'prov.extra.>'], description: 'v2' }]);
    const info = await jsm.streams.info(spec.name);
    assert.equal(info.config.max_age, 120_000 * 1_000_000);
    assert.deepEqual(info.config.subjects, ['prov.update.>', 'prov.extra.>']);
    assert.equal(info.config.description, 'v2');
    assert.equal(info.state.messages, 1);
  });

  it('names the stream and the field when a change cannot be applied in place', async () => {
    const spec: StreamSpec = {
      name: 'PROV_RETENTION',
      subjects: ['prov.retention.>'],
      retention: 'limits',
      maxAgeMs: 60_000,
      duplicateWindowMs: 10_000,
      description: 'test',
    };
    await provisionStreams(nc, [spec]);
    await assert.rejects(provisionStreams(nc, [{ ...spec, retention: 'workqueue' }]), (err: Error) => {
      assert.ok(err instanceof ProvisioningError);
      assert.match(err.message, /stream PROV_RETENTION: cannot change retention/);
      return true;
    });
  });

  it('creates a durable pull consumer, is idempotent, and updates it when the spec changes', async () => {
    await provisionStreams(nc, [Streams.tasks]);
    const spec: ConsumerSpec = {
      stream: Streams.tasks.name,
      durable: 'prov-worker',
      filterSubject: 'keelson.tasks.>',
      ackWaitMs: 30_000,
      maxDeliver: 5,
      maxAckPending: 100,
      retryBackoffMs: [100],
      description: 'test',
    };
    await provisionConsumer(nc, spec);
    const first = await jsm.consumers.info(spec.stream, spec.durable);
    assert.equal(first.config.durable_name, 'prov-worker');
    assert.equal(first.config.ack_policy, 'explicit');
    assert.equal(first.config.ack_wait, 30_000 * 1_000_000);
    assert.equal(first.config.max_deliver, 5 + MAX_DELIVER_HEADROOM);
    assert.equal(first.config.max_ack_pending, 100);
    assert.equal(first.config.filter_subject, 'keelson.tasks.>');
    assert.equal(first.config.deliver_subject, undefined, 'a pull consumer');

    await provisionConsumer(nc, spec);
    const again = await jsm.consumers.info(spec.stream, spec.durable);
    assert.equal(again.created, first.created, 'not re-created');
    assert.deepEqual(again.config, first.config);

    await provisionConsumer(nc, { ...spec, ackWaitMs: 10_000, maxDeliver: 7, maxAckPending: 50 });
    const updated = await jsm.consumers.info(spec.stream, spec.durable);
    assert.equal(updated.created, first.created, 'updated in place');
    assert.equal(updated.config.ack_wait, 10_000 * 1_000_000);
    assert.equal(updated.config.max_deliver, 7 + MAX_DELIVER_HEADROOM);
    assert.equal(updated.config.max_ack_pending, 50);
  });

  it('refuses a consumer on a stream that does not exist, saying so', async () => {
    await assert.rejects(
      provisionConsumer(nc, {
        stream: 'NO_SUCH_STREAM',
        durable: 'x',
        filterSubject: 'x.>',
        ackWaitMs: 1_000,
        maxDeliver: 1,
        maxAckPending: 1,
        retryBackoffMs: [],
        description: 'test',
      }),
      /consumer x on stream NO_SUCH_STREAM: the stream does not exist; provision it first/,
    );
  });

  it('applies a replicas override (a single server refuses more than one replica)', async () => {
    const spec: StreamSpec = { ...Streams.runs, name: 'PROV_REPLICAS', subjects: ['prov.replicas.>'] };
    await provisionStreams(nc, [spec], { replicas: 1 });
    assert.equal((await jsm.streams.info(spec.name)).config.num_replicas, 1);
    await assert.rejects(
      provisionStreams(nc, [{ ...spec, name: 'PROV_REPLICAS_3', subjects: ['prov.r3.>'] }], { replicas: 3 }),
      (err: Error) => err instanceof ProvisioningError && /3 stream replicas asked for, but the NATS server .* is a single node/.test(err.message),
    );
  });
});
