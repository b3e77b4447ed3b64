import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Consumers, Streams } from '@keelson/contracts';
import { AckPolicy, DiscardPolicy, RetentionPolicy, StorageType } from 'nats';
import { allStreams, consumerConfigFor, differingFields, MAX_DELIVER_HEADROOM, streamConfigFor } from './provisioning';

describe('stream and consumer configs from specs', () => {
  it('maps a stream spec to file storage, discard old, and times in nanoseconds', () => {
    const cfg = streamConfigFor(Streams.tasks);
    assert.equal(cfg.retention, RetentionPolicy.Workqueue);
    assert.equal(cfg.storage, StorageType.File);
    assert.equal(cfg.discard, DiscardPolicy.Old);
    assert.equal(cfg.max_age, Streams.tasks.maxAgeMs * 1_000_000);
    assert.equal(cfg.duplicate_window, Streams.tasks.duplicateWindowMs * 1_000_000);
    assert.equal(cfg.num_replicas, undefined, 'replicas only when overridden');
    assert.equal(streamConfigFor(Streams.results, 3).num_replicas, 3);
    assert.equal(streamConfigFor(Streams.results).retention, RetentionPolicy.Limits);
  });

  it('maps a consumer spec to a durable pull consumer with explicit acks and bounded deliveries', () => {
    const cfg = consumerConfigFor(Consumers.taskWorker);
    assert.equal(cfg.durable_name, 'task-worker');
    assert.equal(cfg.ack_policy, AckPolicy.Explicit);
    assert.equal(cfg.ack_wait, 30_000 * 1_000_000);
    assert.equal(cfg.max_deliver, Consumers.taskWorker.maxDeliver + MAX_DELIVER_HEADROOM);
    assert.equal(cfg.max_ack_pending, 512);
    assert.equal(cfg.filter_subject, 'keelson.tasks.>');
    assert.equal((cfg as { deliver_subject?: string }).deliver_subject, undefined);
  });

  it('lists every contract stream', () => {
    assert.deepEqual(allStreams().map((s) => s.name).sort(), Object.values(Streams).map((s) => s.name).sort());
  });

  it('reports only the fields that differ, arrays as sets', () => {
    assert.deepEqual(differingFields({ a: 1, b: ['x', 'y'], c: '' }, { a: 1, b: ['y', 'x'], d: 5 }), []);
    assert.deepEqual(differingFields({ a: 1, b: ['x'] }, { a: 2, b: ['x', 'y'] }), ['a', 'b']);
  });
});
