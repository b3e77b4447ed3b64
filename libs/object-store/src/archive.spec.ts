import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { GENESIS_HASH } from '@keelson/contracts';
import { Archiver } from './archive';
import { ObjectIntegrityError } from './errors';
import { InMemoryObjectStore } from './in-memory-object-store';
import { ResidencyPolicy } from './residency';
import { auditRecords } from './test-records';

const residency = new ResidencyPolicy({ default: 'eu-west-1', tenants: { acme: 'us-east-1' } });
const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

function setup() {
  const store = new InMemoryObjectStore();
  return { store, archiver: new Archiver({ store, residency, account: 'keel', clock: () => new Date('2026-03-05T00:00:00Z') }) };
}

describe('Archiver.archiveJsonl', () => {
  it('writes one JSON object per line under the tenant prefix and reads them back', async () => {
    const { store, archiver } = setup();
    const rows = [{ role: 'user', content: 'hi\nthere' }, { role: 'assistant', content: 'ok' }, 3, 'text', null];
    const ref = await archiver.archiveJsonl('globex', 'archives', 'sessions/ses_1.jsonl', rows);
    assert.equal(ref.bucket, 'keel-eu-west-1-keelson-archives');
    assert.equal(ref.key, 'globex/sessions/ses_1.jsonl');
    assert.equal(ref.contentType, 'application/x-ndjson');
    assert.equal(ref.kind, 'archive');
    const text = (await store.getObject(ref.bucket, ref.key)).toString();
    assert.equal(text.split('\n').length, rows.length + 1, 'one line per row and a final newline');
    assert.equal(ref.sha256, sha(text));
    assert.deepEqual(await archiver.readJsonl(ref), rows);
  });

  it('an empty archive is an empty file and reads back as no rows', async () => {
    const { archiver } = setup();
    const ref = await archiver.archiveJsonl('acme', 'archives', 'tasks/empty.jsonl', []);
    assert.equal(ref.bytes, 0);
    assert.deepEqual(await archiver.readJsonl(ref), []);
  });

  it('refuses keys that escape the tenant prefix or are malformed, and rows JSON cannot hold', async () => {
    const { archiver } = setup();
    for (const key of ['../other/x.jsonl', '/abs.jsonl', 'a//b', 'a/./b', 'a/../b', '', 'sp ace', 'x/']) {
      await assert.rejects(async () => archiver.archiveJsonl('acme', 'archives', key, [1]), /invalid archive key/, `key ${key}`);
    }
    await assert.rejects(async () => archiver.archiveJsonl('acme', 'archives', 'k.jsonl', [undefined]), /archive row 0 cannot be written as JSON/);
    await assert.rejects(async () => archiver.archiveJsonl('acme', 'archives', 'k.jsonl', [() => 1]), /archive row 0/);
    await assert.rejects(async () => archiver.archiveJsonl('acme', 'archives', 'k.jsonl', 'x' as never), /rows must be an array/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await assert.rejects(async () => archiver.archiveJsonl('acme', 'archives', 'k.jsonl', [cyclic]), /circular/);
  });

  it('readJsonl reports a changed archive and a line that is not JSON', async () => {
    const { store, archiver } = setup();
    const ref = await archiver.archiveJsonl('acme', 'archives', 'k.jsonl', [{ a: 1 }]);
    await store.putObject(ref.bucket, ref.key, '{"a":2}\n');
    await assert.rejects(archiver.readJsonl(ref), ObjectIntegrityError);
    const broken = '{"a":1}\nnot json\n';
    await store.putObject(ref.bucket, ref.key, broken);
    await assert.rejects(archiver.readJsonl({ ...ref, sha256: sha(broken) }), /line 2 is not JSON/);
  });
});

describe('Archiver.archiveAuditBatch', () => {
  it('writes the batch and a manifest with its hashes, keyed by zero-padded seqs', async () => {
    const { store, archiver } = setup();
    const records = auditRecords('acme', 1, 3);
    const { batch, manifest } = await archiver.archiveAuditBatch('acme', records);
    assert.equal(batch.bucket, 'keel-us-east-1-keelson-audit');
    assert.equal(batch.key, 'acme/000000000001-000000000003.jsonl');
    assert.equal(manifest.key, 'acme/000000000001-000000000003.manifest.json');
    assert.equal(batch.kind, 'audit_batch');
    assert.equal(manifest.kind, 'audit_manifest');
    assert.deepEqual(await archiver.readJsonl(batch), records);
    assert.deepEqual(await archiver.readAuditManifest(manifest), {
      tenant: 'acme',
      firstSeq: 1,
      lastSeq: 3,
      count: 3,
      firstPrevHash: GENESIS_HASH,
      lastHash: records[2]!.hash,
      sha256: batch.sha256,
      createdAt: '2026-03-05T00:00:00.000Z',
    });
    assert.deepEqual(await store.listKeys(batch.bucket, 'acme/'), [batch.key, manifest.key]);
  });

  it('archiving the same batch again returns the same refs and keeps the first manifest', async () => {
    const { store, archiver } = setup();
    const records = auditRecords('acme', 101, 2);
    const first = await archiver.archiveAuditBatch('acme', records);
    const later = new Archiver({ store, residency, account: 'keel', clock: () => new Date('2030-01-01T00:00:00Z') });
    const again = await later.archiveAuditBatch('acme', records);
    assert.deepEqual(again, first);
    assert.equal((await later.readAuditManifest(again.manifest)).createdAt, '2026-03-05T00:00:00.000Z');
  });

  it('a retry after a crash between the batch and its manifest completes it', async () => {
    const { store, archiver } = setup();
    const records = auditRecords('acme', 1, 2);
    const put = store.putObject.bind(store);
    store.putObject = async (bucket, key, body, opts) => {
      if (key.endsWith('.manifest.json')) throw new Error('crashed before the manifest');
      return put(bucket, key, body, opts);
    };
    await assert.rejects(archiver.archiveAuditBatch('acme', records), /crashed before the manifest/);
    assert.deepEqual(await store.listKeys('keel-us-east-1-keelson-audit', 'acme/'), ['acme/000000000001-000000000002.jsonl']);
    store.putObject = put;
    const { batch, manifest } = await archiver.archiveAuditBatch('acme', records);
    assert.equal((await archiver.readAuditManifest(manifest)).sha256, batch.sha256);
  });

  it('refuses a different batch for a range that is already archived', async () => {
    const { archiver } = setup();
    await archiver.archiveAuditBatch('acme', auditRecords('acme', 1, 2));
    const changed = auditRecords('acme', 1, 2);
    changed[1]!.data = { n: 'changed' };
    await assert.rejects(archiver.archiveAuditBatch('acme', changed), /already archived with sha256 .* the stored range and this batch differ/);
  });

  it('refuses an existing manifest that is not JSON', async () => {
    const { store, archiver } = setup();
    const { manifest } = await archiver.archiveAuditBatch('acme', auditRecords('acme', 1, 1));
    await store.putObject(manifest.bucket, manifest.key, 'garbage');
    await assert.rejects(archiver.archiveAuditBatch('acme', auditRecords('acme', 1, 1)), /exists but is not JSON/);
  });

  it('readAuditManifest reports a changed manifest', async () => {
    const { store, archiver } = setup();
    const { manifest } = await archiver.archiveAuditBatch('acme', auditRecords('acme', 1, 1));
    await store.putObject(manifest.bucket, manifest.key, '{}');
    await assert.rejects(archiver.readAuditManifest(manifest), ObjectIntegrityError);
  });

  it('refuses an empty batch, another tenant, gaps, disorder, duplicates and bad seqs', async () => {
    const { archiver } = setup();
    await assert.rejects(archiver.archiveAuditBatch('acme', []), /at least one record/);
    const mixed = [...auditRecords('acme', 1, 1), ...auditRecords('globex', 2, 1)];
    await assert.rejects(archiver.archiveAuditBatch('acme', mixed), /record 1 \(seq 2\) belongs to tenant globex/);
    await assert.rejects(archiver.archiveAuditBatch('globex', auditRecords('acme', 1, 1)), /record 0 \(seq 1\) belongs to tenant acme/);
    const [a, b, c] = auditRecords('acme', 1, 3);
    await assert.rejects(archiver.archiveAuditBatch('acme', [a!, c!]), /seq 3 follows seq 1/);
    await assert.rejects(archiver.archiveAuditBatch('acme', [b!, a!]), /seq 1 follows seq 2/);
    await assert.rejects(archiver.archiveAuditBatch('acme', [a!, a!]), /seq 1 follows seq 1/);
    await assert.rejects(archiver.archiveAuditBatch('acme', [{ ...a!, seq: 0 }]), /invalid seq 0/);
    await assert.rejects(archiver.archiveAuditBatch('acme', [{ ...a!, seq: 1.5 }]), /invalid seq 1.5/);
  });
});
