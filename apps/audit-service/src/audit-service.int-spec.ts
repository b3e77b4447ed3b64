import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import {
  AuditSubjects,
  AuditTypes,
  Headers,
  Streams,
  Subjects,
  createEvent,
  type AuditQueryRpcReply,
  type AuditRecord,
  type AuditVerifyRpcReply,
} from '@keelson/contracts';
import { AuditTrail } from '@keelson/audit';
import { JetStreamPublisher, request, silentLogger } from '@keelson/messaging';
import { MinioObjectStore, readVerified, regionalBucket } from '@keelson/object-store';
import { freePort, startApp, startNats, startS3Server, waitFor, type AppHandle, type NatsServerHandle, type S3ServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';

/**
 * audit-service as its own process against a real nats-server and a local S3 server (s3rver, through the
 * minio client), with the embedded SQLite store in a temporary directory. guard-service is not running, so
 * PII is scrubbed with the default output policy (the documented fallback).
 */
describe('audit-service', () => {
  let nats: NatsServerHandle;
  let s3: S3ServerHandle;
  let app: AppHandle;
  let nc: NatsConnection;
  let publisher: JetStreamPublisher;
  let trail: AuditTrail;
  let dir: string;
  let env: Record<string, string>;
  let port: number;

  const query = (body: Record<string, unknown>) => request<AuditQueryRpcReply>(nc, AuditSubjects.queryRpc, body, { timeoutMs: 10_000 });
  const verify = (body: Record<string, unknown>) => request<AuditVerifyRpcReply>(nc, AuditSubjects.verifyRpc, body, { timeoutMs: 10_000 });
  const start = () =>
    startApp({ name: 'audit-service', env, readyUrl: `http://127.0.0.1:${port}/readyz` }).then((handle) => (app = handle));

  async function all(tenant: string, filters: Record<string, unknown> = {}): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await query({ tenant, ...filters, limit: 500, ...(cursor ? { cursor } : {}) });
      assert.equal(page.ok, true, JSON.stringify(page));
      if (!page.ok) break;
      out.push(...page.events);
      cursor = page.nextCursor;
    } while (cursor);
    return out;
  }

  before(async () => {
    [nats, s3] = await Promise.all([startNats(), startS3Server()]);
    dir = mkdtempSync(join(tmpdir(), 'keelson-audit-int-'));
    writeFileSync(join(dir, 'access'), s3.accessKey);
    writeFileSync(join(dir, 'secret'), s3.secretKey);
    port = await freePort();
    env = {
      NATS_URL: nats.url,
      HEALTH_PORT: String(port),
      AUDIT_DATA_DIR: join(dir, 'store'),
      LOG_LEVEL: 'warn',
      OBJECT_STORE_URL: s3.url,
      OBJECT_STORE_ACCESS_KEY_FILE: join(dir, 'access'),
      OBJECT_STORE_SECRET_KEY_FILE: join(dir, 'secret'),
      OBJECT_STORE_ACCOUNT: 'itest',
      DATA_RESIDENCY: JSON.stringify({ default: 'us-east-1', tenants: { euro: 'eu-west-1' } }),
      AUDIT_ARCHIVE_BATCH: '5',
      AUDIT_ARCHIVE_INTERVAL_MS: '200',
      AUDIT_ARCHIVE_MAX_AGE_MS: '600000',
      GUARD_POLICY_TTL_MS: '60000',
    };
    await start();
    nc = await connect({ servers: nats.url });
    publisher = new JetStreamPublisher(nc, { logger: silentLogger });
    trail = new AuditTrail(publisher, { service: 'itest' });
  });

  after(async () => {
    await nc?.close();
    await app?.stop();
    await Promise.all([nats?.stop(), s3?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores events once each, chained in order, and finds them by session, type and actor', async () => {
    for (let i = 0; i < 6; i++) {
      await trail.record({ id: `e-${i}`, tenant: 'acme', type: i % 2 ? AuditTypes.toolCall : AuditTypes.runStarted, sessionId: 'ses_1', actor: { kind: 'api_key', id: 'k1' }, data: { i } });
    }
    // The same event again under another Nats-Msg-Id, past JetStream's de-duplication: audit still keeps one.
    await publisher.publish(AuditSubjects.event('acme', 'run'), await trail.build({ id: 'e-0', tenant: 'acme', type: AuditTypes.runStarted, sessionId: 'ses_1', data: { i: 0 } }), { msgId: 'other-id' });
    await waitFor(async () => (await all('acme', { sessionId: 'ses_1' })).length === 6, { timeoutMs: 10_000, description: 'the expected records (wait 3)' });
    const records = await all('acme', { sessionId: 'ses_1' });
    assert.deepEqual(records.map((r) => r.data['i']), [0, 1, 2, 3, 4, 5]);
    assert.deepEqual(records.map((r) => r.seq), [1, 2, 3, 4, 5, 6]);
    for (let i = 1; i < records.length; i++) assert.equal(records[i]!.prevHash, records[i - 1]!.hash);
    assert.equal((await all('acme', { type: 'tool' })).length, 3);
    assert.equal((await all('acme', { actor: 'api_key:k1' })).length, 6);
    assert.equal((await all('other', {})).length, 0, 'another tenant sees nothing');
    const v = await verify({ tenant: 'acme' });
    assert.ok(v.ok && v.result.ok && v.result.checked === 6, JSON.stringify(v));
  });

  it('changes its log level at run time on the control subject, when the command names it or no service', async () => {
    nc.publish(Subjects.logLevel, JSON.stringify({ level: 'debug', service: 'task-worker' }));
    nc.publish(Subjects.logLevel, JSON.stringify({ level: 'warn' }));
    nc.publish(Subjects.logLevel, JSON.stringify({ level: 'loud' }));
    await waitFor(() => app.logs().some((l) => l.includes('ignored a malformed log-level command')), { timeoutMs: 5_000, description: 'the malformed command logged' });
    const changes = app.logs().filter((l) => l.includes('log level changed'));
    assert.equal(changes.length, 1, changes.join('\n'));
    assert.match(changes[0]!, /"newLevel":"warn"/);
  });

  it('scrubs PII from what it stores', async () => {
    await trail.record({ id: 'pii-1', tenant: 'acme', type: AuditTypes.toolResult, data: { preview: 'mail jane.doe@example.com or call +44 20 7946 0958' } });
    await waitFor(async () => (await all('acme', { type: 'tool.result' })).length === 1, { timeoutMs: 10_000, description: 'the expected records (wait 4)' });
    const [record] = await all('acme', { type: 'tool.result' });
    const stored = JSON.stringify(record!.data);
    assert.ok(!stored.includes('jane.doe@example.com'), stored);
    assert.ok(!stored.includes('7946 0958'), stored);
  });

  it('dead-letters a malformed event with the reason and keeps going', async () => {
    const sub = nc.subscribe(Subjects.deadLetter(Streams.audit.name), { max: 2 });
    const letters: { reason: string | undefined }[] = [];
    const got = (async () => {
      for await (const m of sub) letters.push({ reason: m.headers?.get(Headers.deadLetterReason) });
    })();
    await publisher.publish(AuditSubjects.event('acme', 'run'), { id: 'bad', tenant: 'acme', type: 'run.started' }, { msgId: 'bad-1' });
    await publisher.publish(AuditSubjects.event('acme', 'tool'), await trail.build({ id: 'wrong-tenant', tenant: 'other', type: AuditTypes.toolCall }), { msgId: 'bad-2' });
    await trail.record({ id: 'after-bad', tenant: 'acme', type: AuditTypes.runCompleted });
    await got;
    assert.match(letters[0]!.reason ?? '', /invalid audit event: (time|service|actor)/);
    assert.match(letters[1]!.reason ?? '', /tenant "other" published under tenant "acme"/);
    await waitFor(async () => (await all('acme', { type: 'run.completed' })).length === 1, { timeoutMs: 10_000, description: 'the expected records (wait 5)' });
  });

  it('answers bad queries with 400 naming the field', async () => {
    const bad = await query({ tenant: 'acme', traceId: 'nope' });
    assert.deepEqual(bad.ok ? [] : [bad.status, bad.code, bad.field], [400, 'validation_failed', 'traceId']);
    const cursor = await query({ tenant: 'acme', cursor: 'AAAA' });
    assert.deepEqual(cursor.ok ? [] : [cursor.status, cursor.code, cursor.field], [400, 'invalid_cursor', 'cursor']);
    const order = await verify({ tenant: 'acme', fromSeq: 5, toSeq: 2 });
    assert.deepEqual(order.ok ? [] : [order.status, order.field], [400, 'fromSeq']);
  });

  it('loses and duplicates nothing when killed mid-stream and restarted', async () => {
    const N = 300;
    const sends = Array.from({ length: N }, (_, i) => trail.record({ id: `k-${i}`, tenant: 'crash', type: AuditTypes.modelCall, runId: 'r1', data: { i } }));
    await waitFor(async () => (await all('crash')).length > 0, { timeoutMs: 10_000, intervalMs: 5, description: 'the expected records (wait 6)' });
    await app.kill('SIGKILL');
    await Promise.all(sends);
    await start();
    await waitFor(async () => (await all('crash')).length >= N, { timeoutMs: 30_000, description: 'the expected records (wait 7)' });
    const records = await all('crash');
    assert.equal(records.length, N);
    assert.equal(new Set(records.map((r) => r.id)).size, N);
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: N }, (_, i) => i + 1));
    const v = await verify({ tenant: 'crash' });
    assert.ok(v.ok && v.result.ok && v.result.checked === N, JSON.stringify(v));
  });

  it('reports a changed record as the first break of the chain', async () => {
    for (let i = 0; i < 4; i++) await trail.record({ id: `t-${i}`, tenant: 'tamper', type: AuditTypes.adminBudgetSet, data: { limit: i } });
    await waitFor(async () => (await all('tamper')).length === 4, { timeoutMs: 10_000, description: 'the expected records (wait 8)' });
    const db = new Database(join(dir, 'store', 'audit.db'));
    try {
      const row = db.prepare('SELECT body FROM audit_records WHERE tenant = ? AND seq = 3').get('tamper') as { body: string };
      db.prepare('UPDATE audit_records SET body = ? WHERE tenant = ? AND seq = 3').run(row.body.replace('"limit":2', '"limit":2000'), 'tamper');
    } finally {
      db.close();
    }
    const v = await verify({ tenant: 'tamper' });
    assert.ok(v.ok, JSON.stringify(v));
    assert.equal(v.result.ok, false);
    assert.deepEqual([v.result.break?.seq, v.result.break?.reason], [3, 'hash_mismatch']);
    const before = await verify({ tenant: 'tamper', toSeq: 2 });
    assert.ok(before.ok && before.result.ok, 'the range before the change still verifies');
  });

  it('archives batches of the chain with their hashes in the tenant\'s regional bucket', async () => {
    for (let i = 0; i < 5; i++) await trail.record({ id: `eu-${i}`, tenant: 'euro', type: AuditTypes.runStarted, data: { i } });
    const store = new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey });
    const bucket = regionalBucket({ account: 'itest', region: 'eu-west-1', purpose: 'audit' });
    await waitFor(async () => (await store.listKeys(bucket, 'euro/').catch(() => [])).length === 2, { timeoutMs: 15_000, description: 'the expected records (wait 9)' });
    const keys = await store.listKeys(bucket, 'euro/');
    assert.deepEqual(keys, ['euro/000000000001-000000000005.jsonl', 'euro/000000000001-000000000005.manifest.json']);
    const manifest = JSON.parse((await store.getObject(bucket, keys[1]!)).toString('utf8'));
    const records = await all('euro');
    assert.equal(manifest.lastHash, records[4]!.hash);
    const lines = (await store.getObject(bucket, keys[0]!)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(lines.map((r) => r.hash), records.map((r) => r.hash));
  });

  it('archives a closed session\'s run log as JSON lines and records where', async () => {
    const js = nc.jetstream();
    for (const [i, type] of ['dev.keelson.run.started.v1', 'dev.keelson.run.completed.v1'].entries()) {
      const event = createEvent({ id: `ses_arch:${i}`, type, source: '/itest', tenant: 'euro', data: { runId: 'ses_arch:1', n: i } });
      await js.publish(Subjects.sessionRun('euro', 'ses_arch', 1), JSON.stringify(event));
    }
    await trail.record({ id: 'session:ses_arch:closed', tenant: 'euro', type: AuditTypes.sessionClosed, sessionId: 'ses_arch', data: { turns: 1 } });
    await waitFor(async () => (await all('euro', { type: 'session.archived' })).length === 1, { timeoutMs: 15_000, description: 'the expected records (wait 10)' });
    const [archived] = await all('euro', { type: 'session.archived' });
    const ref = archived!.refs[0]!;
    assert.equal(ref.bucket, regionalBucket({ account: 'itest', region: 'eu-west-1', purpose: 'archives' }));
    assert.equal(ref.key, 'euro/sessions/ses_arch.jsonl');
    const store = new MinioObjectStore({ url: s3.url, accessKey: s3.accessKey, secretKey: s3.secretKey });
    const lines = (await readVerified(store, ref)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.data.n), [0, 1]);
    // The reader's consumer is gone: one left per archive would slow every later run-log publish.
    const consumers = await (await nc.jetstreamManager()).consumers.list(Streams.runs.name).next();
    assert.deepEqual(consumers.map((c) => c.name), []);
  });
});
