import { strict as assert } from 'node:assert';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startS3Server, type S3ServerHandle } from '@keelson/testing';
import { Archiver } from './archive';
import { ObjectIntegrityError, ObjectNotFoundError } from './errors';
import { objectStorageFromSettings } from './from-settings';
import { MinioObjectStore } from './minio-object-store';
import { PayloadOffloader } from './payload-offloader';
import { ResidencyPolicy } from './residency';
import { auditRecords } from './test-records';

const sha = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const residency = new ResidencyPolicy({ default: 'eu-west-1', tenants: { acme: 'us-east-1' } });

describe('object storage against s3rver', () => {
  let s3: S3ServerHandle;
  let store: MinioObjectStore;
  before(async () => {
    s3 = await startS3Server();
    store = new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey });
  });
  after(async () => {
    await s3?.stop();
  });

  describe('MinioObjectStore', () => {
    it('ensureBucket creates once and is idempotent, also from a second instance', async () => {
      await store.ensureBucket('it-basic', 'us-east-1');
      await store.ensureBucket('it-basic', 'us-east-1');
      const other = new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey });
      await Promise.all([other.ensureBucket('it-basic', 'us-east-1'), other.ensureBucket('it-basic', 'us-east-1')]);
      assert.equal(await store.client.bucketExists('it-basic'), true);
    });

    it('replicas racing to create the same bucket both succeed', async () => {
      const replicas = Array.from({ length: 4 }, () => new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey }));
      await Promise.all(replicas.map((r) => r.ensureBucket('it-race', 'eu-west-1')));
      assert.equal(await store.client.bucketExists('it-race'), true);
    });

    it('puts, gets and stats an object with its content type and metadata', async () => {
      await store.ensureBucket('it-basic', 'us-east-1');
      const body = Buffer.from('héllo\u0000binary\xff', 'utf8');
      await store.putObject('it-basic', 'a/b/c.bin', body, { contentType: 'application/octet-stream', metadata: { tenant: 'acme', kind: 'tool_result' } });
      assert.deepEqual(await store.getObject('it-basic', 'a/b/c.bin'), body);
      assert.deepEqual(await store.statObject('it-basic', 'a/b/c.bin'), {
        bucket: 'it-basic',
        key: 'a/b/c.bin',
        bytes: body.length,
        contentType: 'application/octet-stream',
        metadata: { tenant: 'acme', kind: 'tool_result' },
      });
      await store.putObject('it-basic', 'empty', '');
      assert.equal((await store.getObject('it-basic', 'empty')).length, 0);
      assert.equal((await store.statObject('it-basic', 'empty'))?.bytes, 0);
    });

    it('a missing object or bucket: get throws ObjectNotFoundError, stat is undefined, list is empty', async () => {
      await store.ensureBucket('it-basic', 'us-east-1');
      await assert.rejects(store.getObject('it-basic', 'nope'), (err: unknown) => err instanceof ObjectNotFoundError && /it-basic\/nope not found/.test(err.message));
      await assert.rejects(store.getObject('it-no-such-bucket', 'nope'), ObjectNotFoundError);
      assert.equal(await store.statObject('it-basic', 'nope'), undefined);
      assert.equal(await store.statObject('it-no-such-bucket', 'nope'), undefined);
      assert.deepEqual(await store.listKeys('it-no-such-bucket', ''), []);
    });

    it('listKeys returns every key under a prefix in order, across pages', async () => {
      await store.ensureBucket('it-list', 'us-east-1');
      const keys = Array.from({ length: 1_005 }, (_, i) => `t/${String(i).padStart(4, '0')}`);
      for (let i = 0; i < keys.length; i += 50) await Promise.all(keys.slice(i, i + 50).map((k) => store.putObject('it-list', k, 'x')));
      await store.putObject('it-list', 'u/other', 'x');
      await store.putObject('it-list', 't-sibling', 'x');
      assert.deepEqual(await store.listKeys('it-list', 't/'), keys);
      assert.deepEqual(await store.listKeys('it-list', 'u/'), ['u/other']);
      assert.deepEqual(await store.listKeys('it-list', 'zzz/'), []);
    });

    // s3rver checks only that the access key exists (it does not verify SigV4 signatures), so a wrong
    // secret key goes unnoticed here; an unknown access key stands in for bad credentials.
    it('an unknown access key is refused, not mistaken for a missing object or bucket', async () => {
      const unknown = new MinioObjectStore({ url: s3.url, accessKey: 'nobody', secretKey: 'x' });
      await assert.rejects(unknown.getObject('it-basic', 'a/b/c.bin'), (err: unknown) => !(err instanceof ObjectNotFoundError) && /InvalidAccessKeyId|Access Key/i.test(String(err)));
      await assert.rejects(unknown.ensureBucket('it-basic', 'us-east-1'), (err: unknown) => !(err instanceof ObjectNotFoundError));
      await assert.rejects(unknown.listKeys('it-basic', ''), /Access Key/i);
    });

    it('a failed ensureBucket is not cached: the next call tries again', async () => {
      let accessKey = 'nobody';
      const flaky = new MinioObjectStore({ url: s3.url, credentials: async () => ({ accessKey, secretKey: s3.secretKey }) });
      await assert.rejects(flaky.ensureBucket('it-flaky', 'us-east-1'));
      accessKey = s3.accessKey;
      await flaky.ensureBucket('it-flaky', 'us-east-1');
      assert.equal(await store.client.bucketExists('it-flaky'), true);
    });
  });

  describe('regional buckets, offload and archives', () => {
    it('creates each tenant bucket in its region namespace on first use', async () => {
      const offloader = new PayloadOffloader({ store, residency, account: 'it', thresholdBytes: 4 });
      const archiver = new Archiver({ store, residency, account: 'it' });
      const a = await offloader.maybeOffload('acme', 'tool_result', 'large payload');
      const g = await offloader.maybeOffload('globex', 'tool_result', 'large payload');
      await archiver.archiveJsonl('acme', 'archives', 'sessions/s1.jsonl', [{ a: 1 }]);
      await archiver.archiveAuditBatch('globex', auditRecords('globex', 1, 1));
      assert.ok('ref' in a && 'ref' in g);
      assert.equal(a.ref.bucket, 'it-us-east-1-keelson-payloads');
      assert.equal(g.ref.bucket, 'it-eu-west-1-keelson-payloads');
      const names = (await store.client.listBuckets()).map((b) => b.name).filter((n) => n.startsWith('it-') && n.includes('keelson'));
      assert.deepEqual(names.sort(), ['it-eu-west-1-keelson-audit', 'it-eu-west-1-keelson-payloads', 'it-us-east-1-keelson-archives', 'it-us-east-1-keelson-payloads']);
      assert.deepEqual(await offloader.maybeOffload('acme', 'reply', 'tiny'), { inline: 'tiny' });
    });

    it('offloading the same payload twice writes one object; a changed object fails the integrity check', async () => {
      const offloader = new PayloadOffloader({ store, residency, account: 'it', thresholdBytes: 0 });
      const time = new Date('2026-01-02T03:04:05Z');
      const content = 'ünïcode payload '.repeat(1_000);
      const first = await offloader.offload('acme', 'transcript', content, time);
      const retry = await new PayloadOffloader({ store, residency, account: 'it', thresholdBytes: 0 }).offload('acme', 'transcript', content, time);
      assert.deepEqual(retry, first);
      assert.equal(first.key, `acme/transcript/2026/01/02/${sha(content)}`);
      assert.deepEqual(await store.listKeys(first.bucket, 'acme/transcript/'), [first.key]);
      assert.deepEqual((await store.statObject(first.bucket, first.key))?.metadata, { tenant: 'acme', kind: 'transcript' });
      assert.equal(await offloader.readPayload(first), content);

      await store.putObject(first.bucket, first.key, content.replace('ü', 'u'));
      await assert.rejects(offloader.readPayload(first), ObjectIntegrityError);
      await assert.rejects(offloader.readPayload({ ...first, key: `${first.key}-missing` }), ObjectNotFoundError);
    });

    it('a JSON lines archive round-trips', async () => {
      const archiver = new Archiver({ store, residency, account: 'it' });
      const rows = [{ role: 'user', content: 'line\nbreak "quoted" ✓' }, { role: 'assistant', content: '' }, [1, 2], null];
      const ref = await archiver.archiveJsonl('globex', 'archives', 'tasks/tsk_1.jsonl', rows);
      assert.equal(ref.bucket, 'it-eu-west-1-keelson-archives');
      assert.deepEqual(await archiver.readJsonl(ref), rows);
      const stat = await store.statObject(ref.bucket, ref.key);
      assert.equal(stat?.contentType, 'application/x-ndjson');
      assert.equal(stat?.bytes, ref.bytes);
      await store.putObject(ref.bucket, ref.key, '{}\n');
      await assert.rejects(archiver.readJsonl(ref), ObjectIntegrityError);
    });

    it('an audit batch manifest holds the batch hashes; archiving it again changes nothing', async () => {
      const archiver = new Archiver({ store, residency, account: 'it' });
      const records = auditRecords('acme', 41, 10);
      const { batch, manifest } = await archiver.archiveAuditBatch('acme', records);
      assert.equal(batch.key, 'acme/000000000041-000000000050.jsonl');
      const stored = await store.getObject(batch.bucket, batch.key);
      const body = JSON.parse((await store.getObject(manifest.bucket, manifest.key)).toString());
      assert.equal(body.sha256, sha(stored));
      assert.equal(body.sha256, batch.sha256);
      assert.equal(body.firstPrevHash, records[0]!.prevHash);
      assert.equal(body.lastHash, records[9]!.hash);
      assert.equal(body.count, 10);
      assert.deepEqual(await archiver.readJsonl(batch), records);
      assert.deepEqual(await archiver.archiveAuditBatch('acme', records), { batch, manifest });
      assert.deepEqual(await store.listKeys(batch.bucket, 'acme/000000000041'), [batch.key, manifest.key]);
    });
  });

  describe('objectStorageFromSettings', () => {
    it('reads the keys from files before each request, so a rotated file is picked up', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'keelson-s3-keys-'));
      try {
        const accessFile = join(dir, 'access');
        const secretFile = join(dir, 'secret');
        await writeFile(accessFile, `${s3.accessKey}\n`);
        await writeFile(secretFile, `${s3.secretKey}\n`);
        const storage = objectStorageFromSettings({
          OBJECT_STORE_URL: s3.url,
          OBJECT_STORE_ACCESS_KEY_FILE: accessFile,
          OBJECT_STORE_SECRET_KEY_FILE: secretFile,
          OBJECT_STORE_ACCOUNT: 'cfg',
          DATA_RESIDENCY: { default: 'eu-west-1', tenants: {} },
          AUDIT_OFFLOAD_THRESHOLD_BYTES: 1,
        });
        assert.ok(storage);
        const kept = await storage.offloader.maybeOffload('t1', 'reply', 'payload');
        assert.ok('ref' in kept && kept.ref.bucket === 'cfg-eu-west-1-keelson-payloads');
        await writeFile(accessFile, 'rotated-away');
        await new Promise((resolve) => setTimeout(resolve, 20)); // a new mtime
        await assert.rejects(storage.offloader.readPayload(kept.ref), /Access Key/i);
        await writeFile(accessFile, s3.accessKey);
        await new Promise((resolve) => setTimeout(resolve, 20));
        assert.equal(await storage.offloader.readPayload(kept.ref), 'payload');
        await rm(secretFile);
        await assert.rejects(storage.offloader.readPayload(kept.ref), /cannot read the secret file .*secret: ENOENT/);
      } finally {
        await rm(dir, { recursive: true, force: true });
      }
    });

    it('with the secrets layer\'s keys, each request uses their current value (a rotation needs no restart)', async () => {
      // Stands in for SettingsSecrets (libs/secrets), whose reader returns the value it last fetched.
      const current: Record<string, string> = { OBJECT_STORE_ACCESS_KEY: s3.accessKey, OBJECT_STORE_SECRET_KEY: s3.secretKey };
      const keys = { reader: (name: string) => (name in current ? () => current[name]! : undefined) };
      const storage = objectStorageFromSettings(
        {
          OBJECT_STORE_URL: s3.url,
          OBJECT_STORE_ACCESS_KEY_REF: 'vault:kv/data/keelson/s3#access_key',
          OBJECT_STORE_SECRET_KEY_REF: 'vault:kv/data/keelson/s3#secret_key',
          OBJECT_STORE_ACCOUNT: 'ref',
          DATA_RESIDENCY: { default: 'eu-west-1', tenants: {} },
          AUDIT_OFFLOAD_THRESHOLD_BYTES: 1,
        },
        keys,
      );
      assert.ok(storage);
      const kept = await storage.offloader.maybeOffload('t1', 'reply', 'payload');
      assert.ok('ref' in kept);
      current['OBJECT_STORE_ACCESS_KEY'] = 'rotated-away';
      await assert.rejects(storage.offloader.readPayload(kept.ref), /Access Key/i);
      current['OBJECT_STORE_ACCESS_KEY'] = s3.accessKey;
      assert.equal(await storage.offloader.readPayload(kept.ref), 'payload');
    });
  });
});

describe('startS3Server', () => {
  it('restart() keeps the objects on the same port; stop() removes its temporary directory', async () => {
    const s3 = await startS3Server();
    try {
      const store = new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey });
      await store.ensureBucket('kept', 'us-east-1');
      await store.putObject('kept', 'k', 'v');
      const port = s3.port;
      await s3.restart();
      assert.equal(s3.port, port);
      assert.equal((await store.getObject('kept', 'k')).toString(), 'v');
    } finally {
      await s3.stop();
    }
    assert.equal(existsSync(s3.dir), false);
  });

  it('a killed server makes calls reject instead of hang', async () => {
    const s3 = await startS3Server();
    const store = new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey });
    await s3.kill('SIGKILL');
    await assert.rejects(store.ensureBucket('down', 'us-east-1'), /ECONNREFUSED/);
    await assert.rejects(store.getObject('down', 'k'), /ECONNREFUSED/);
    await s3.stop();
  });

  it('with `dir`, the objects stay there after stop() and a new server serves them', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'keelson-s3-dir-'));
    try {
      const first = await startS3Server({ dir, accessKey: 'ak-custom', secretKey: 'sk-custom' });
      assert.equal(first.dir, dir);
      assert.equal(first.accessKey, 'ak-custom');
      const store = new MinioObjectStore({ url: first.url, accessKey: 'ak-custom', secretKey: 'sk-custom' });
      await store.ensureBucket('durable', 'us-east-1');
      await store.putObject('durable', 'k', 'v');
      await first.stop();
      assert.equal(existsSync(dir), true);
      const second = await startS3Server({ dir });
      try {
        const again = new MinioObjectStore({ url: second.url, accessKey: second.accessKey, secretKey: second.secretKey });
        assert.equal((await again.getObject('durable', 'k')).toString(), 'v');
      } finally {
        await second.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
