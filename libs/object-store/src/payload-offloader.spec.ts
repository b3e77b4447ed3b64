import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { ObjectIntegrityError, ObjectNotFoundError } from './errors';
import { InMemoryObjectStore } from './in-memory-object-store';
import { PayloadOffloader } from './payload-offloader';
import { ResidencyPolicy } from './residency';

const residency = new ResidencyPolicy({ default: 'eu-west-1', tenants: { acme: 'us-east-1' } });
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');
const time = new Date('2026-03-04T23:59:59Z');

function setup(thresholdBytes = 10) {
  const store = new InMemoryObjectStore();
  return { store, offloader: new PayloadOffloader({ store, residency, account: 'keel', thresholdBytes }) };
}

describe('PayloadOffloader', () => {
  it('stores content under a content-addressed, dated key in the tenant region payloads bucket', async () => {
    const { store, offloader } = setup();
    const ref = await offloader.offload('acme', 'tool_result', 'héllo world', time);
    assert.deepEqual(ref, {
      kind: 'tool_result',
      bucket: 'keel-us-east-1-keelson-payloads',
      key: `acme/tool_result/2026/03/04/${sha('héllo world')}`,
      sha256: sha('héllo world'),
      bytes: 12,
      contentType: 'text/plain; charset=utf-8',
    });
    assert.equal(store.buckets.get(ref.bucket)?.region, 'us-east-1');
    const info = await store.statObject(ref.bucket, ref.key);
    assert.deepEqual(info?.metadata, { tenant: 'acme', kind: 'tool_result' });
    assert.equal(await offloader.readPayload(ref), 'héllo world');
  });

  it('a retry writes the same object, and the bucket is ensured once', async () => {
    const { store, offloader } = setup();
    const a = await offloader.offload('globex', 'transcript', 'same', time);
    const b = await offloader.offload('globex', 'transcript', 'same', time);
    await offloader.offload('globex', 'model_input', 'other', time);
    assert.deepEqual(a, b);
    assert.deepEqual(await store.listKeys(a.bucket, 'globex/'), [b.key, `globex/model_input/2026/03/04/${sha('other')}`].sort());
    assert.deepEqual(store.ensureCalls, ['keel-eu-west-1-keelson-payloads']);
  });

  it('maybeOffload keeps up to thresholdBytes of UTF-8 inline and offloads above it', async () => {
    const { offloader } = setup(10);
    assert.deepEqual(await offloader.maybeOffload('acme', 'reply', '0123456789'), { inline: '0123456789' });
    assert.deepEqual(await offloader.maybeOffload('acme', 'reply', ''), { inline: '' });
    // 6 characters, 12 bytes: counted in bytes, not characters.
    const result = await offloader.maybeOffload('acme', 'reply', 'éééééé');
    assert.ok('ref' in result, 'expected the 12-byte payload to be offloaded');
    assert.equal(result.ref.bytes, 12);
  });

  it('threshold 0 offloads everything but the empty string', async () => {
    const { offloader } = setup(0);
    assert.ok('ref' in (await offloader.maybeOffload('acme', 'reply', 'x')));
    assert.deepEqual(await offloader.maybeOffload('acme', 'reply', ''), { inline: '' });
  });

  it('readPayload throws ObjectIntegrityError naming both hashes when the object changed', async () => {
    const { store, offloader } = setup();
    const ref = await offloader.offload('acme', 'tool_result', 'original', time);
    await store.putObject(ref.bucket, ref.key, 'tampered');
    await assert.rejects(offloader.readPayload(ref), (err: unknown) => {
      assert.ok(err instanceof ObjectIntegrityError);
      assert.match(err.message, new RegExp(`expected sha256 ${ref.sha256}, the stored bytes hash to ${sha('tampered')}`));
      return true;
    });
  });

  it('readPayload throws ObjectNotFoundError when the object is gone', async () => {
    const { store, offloader } = setup();
    const ref = await offloader.offload('acme', 'tool_result', 'gone soon', time);
    store.buckets.get(ref.bucket)!.objects.delete(ref.key);
    await assert.rejects(offloader.readPayload(ref), ObjectNotFoundError);
  });

  it('refuses a bad kind, a bad tenant, an invalid time and a bad threshold', async () => {
    const { offloader } = setup();
    await assert.rejects(offloader.offload('acme', 'Tool-Result', 'x'), /invalid payload kind "Tool-Result"/);
    await assert.rejects(offloader.offload('acme', '../x', 'x'), /invalid payload kind/);
    await assert.rejects(offloader.offload('../acme', 'tool_result', 'x'), /invalid tenant id/);
    await assert.rejects(offloader.offload('acme', 'tool_result', 'x', new Date('nope')), /invalid payload time/);
    for (const thresholdBytes of [-1, 1.5, Number.NaN]) {
      assert.throws(() => setup(thresholdBytes), /thresholdBytes must be a whole number >= 0/);
    }
  });

  it('a failed bucket creation is retried on the next offload', async () => {
    const { store, offloader } = setup();
    store.failNext(new Error('connect ECONNREFUSED'));
    await assert.rejects(offloader.offload('acme', 'tool_result', 'x', time), /ECONNREFUSED/);
    const ref = await offloader.offload('acme', 'tool_result', 'x', time);
    assert.equal(await offloader.readPayload(ref), 'x');
  });

  it('a failed write rejects, so the caller does not publish a dangling reference', async () => {
    const { store, offloader } = setup();
    await offloader.offload('acme', 'tool_result', 'warm', time);
    store.failNext(new Error('503 SlowDown'));
    await assert.rejects(offloader.offload('acme', 'tool_result', 'x', time), /SlowDown/);
  });
});
