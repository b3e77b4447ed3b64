import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { AuditSubjects, AuditTypes, type AuditEventInput, type AuditRecord } from '@keelson/contracts';
import { freePort, sleep, startNats, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';
import { startRouteTestGateway, type RouteTestGateway } from '../testing/route-test-gateway';
import { AuditController } from './audit.controller';
import { AUDIT_RPC_TIMEOUT, AuditRpcClient } from './audit-rpc-client';
import { appendRecord, startFakeAuditService, type FakeAuditService } from './fake-audit-service';

const KEY = 'ks_test_audit_dev';
const OTHER_KEY = 'ks_test_audit_other';
const BULK_KEY = 'ks_test_audit_bulk';
const TRACE_A = 'a'.repeat(32);
const TRACE_B = 'b'.repeat(32);
const BULK = 1_103;

/** dev: two traces, a session and a task, several actors and types, one record a minute from 09:00 UTC. */
function seed(records: AuditRecord[]): void {
  const at = (minute: number): string => new Date(Date.UTC(2026, 10, 27, 9, minute)).toISOString();
  const dev: Omit<AuditEventInput, 'tenant' | 'id' | 'time' | 'service'>[] = [
    { type: AuditTypes.sessionOpened, actor: { kind: 'api_key', id: 'key-dev' }, traceId: TRACE_A, sessionId: 'ses_1' },
    { type: AuditTypes.runStarted, actor: { kind: 'service', id: 'session-agent' }, traceId: TRACE_A, sessionId: 'ses_1', runId: 'ses_1:1' },
    { type: AuditTypes.modelCall, actor: { kind: 'service', id: 'session-agent' }, traceId: TRACE_A, sessionId: 'ses_1', runId: 'ses_1:1', data: { tokens: 12 } },
    { type: AuditTypes.toolCall, actor: { kind: 'service', id: 'session-agent' }, traceId: TRACE_A, sessionId: 'ses_1', runId: 'ses_1:1', data: { tool: 'lookup' } },
    { type: AuditTypes.toolResult, actor: { kind: 'service', id: 'session-agent' }, traceId: TRACE_A, sessionId: 'ses_1', runId: 'ses_1:1' },
    { type: AuditTypes.runCompleted, actor: { kind: 'service', id: 'session-agent' }, traceId: TRACE_A, sessionId: 'ses_1', runId: 'ses_1:1' },
    { type: AuditTypes.taskAccepted, actor: { kind: 'api_key', id: 'key-dev' }, traceId: TRACE_B, taskId: 'tsk_9' },
    { type: AuditTypes.runStarted, actor: { kind: 'service', id: 'task-worker' }, traceId: TRACE_B, taskId: 'tsk_9', runId: 'tsk_9:1' },
    { type: AuditTypes.toolCall, actor: { kind: 'service', id: 'task-worker' }, traceId: TRACE_B, taskId: 'tsk_9', runId: 'tsk_9:1' },
    { type: AuditTypes.taskCompleted, actor: { kind: 'service', id: 'task-worker' }, traceId: TRACE_B, taskId: 'tsk_9', runId: 'tsk_9:1' },
    { type: AuditTypes.adminBudgetSet, actor: { kind: 'api_key', id: 'ops-1' }, data: { scope: 'tenant' } },
    { type: AuditTypes.sessionClosed, actor: { kind: 'api_key', id: 'key-dev' }, traceId: TRACE_A, sessionId: 'ses_1' },
  ];
  dev.forEach((e, i) => appendRecord(records, { ...e, tenant: 'dev', id: `dev-${i + 1}`, time: at(i), service: 'gateway' }));
  // Another tenant with the same trace and session ids: never visible to dev.
  for (let i = 0; i < 3; i++) {
    appendRecord(records, { tenant: 'other', id: `other-${i + 1}`, type: AuditTypes.toolCall, time: at(i), service: 'task-worker', actor: { kind: 'service', id: 'task-worker' }, traceId: TRACE_A, sessionId: 'ses_1' });
  }
  for (let i = 0; i < BULK; i++) {
    appendRecord(records, { tenant: 'bulk', id: `bulk-${i + 1}`, type: AuditTypes.modelCall, time: new Date(Date.UTC(2026, 10, 27, 10, 0, 0, i)).toISOString(), service: 'session-agent', actor: { kind: 'service', id: 'session-agent' } });
  }
}

/**
 * The audit routes over real HTTP and a real nats-server: the routes mounted with the gateway's own guards,
 * error filter and bootstrap (route-test-gateway), the RPCs answered by a protocol-faithful fake of
 * audit-service (fake-audit-service.ts) over an in-memory list of records.
 */
describe('gateway audit routes', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;
  let fake: FakeAuditService;
  let gateway: RouteTestGateway;
  const call: RouteTestGateway['call'] = (path, init) => gateway.call(path, init);
  const ids = (body: { events: AuditRecord[] }): string[] => body.events.map((e) => e.id);
  const lastQuery = (): Record<string, unknown> => fake.queries[fake.queries.length - 1] as Record<string, unknown>;
  const exportText = async (path: string, key = KEY, signal?: AbortSignal): Promise<{ status: number; type: string | null; lines: string[]; text: string }> => {
    const res = await fetch(`${gateway.base}${path}`, { headers: { authorization: `Bearer ${key}` }, signal });
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), lines: text.split('\n'), text };
  };

  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url });
    const records: AuditRecord[] = [];
    seed(records);
    fake = startFakeAuditService(nc, records);
    await nc.flush();
    gateway = await startRouteTestGateway({
      name: 'gateway-audit-test',
      natsUrl: nats.url,
      port: await freePort(),
      controllers: [AuditController],
      providers: [AuditRpcClient, { provide: AUDIT_RPC_TIMEOUT, useValue: 1_500 }],
      keys: { dev: KEY, other: OTHER_KEY, bulk: BULK_KEY },
    });
  });

  after(async () => {
    await gateway?.close();
    await fake?.stop();
    await nc?.close();
    await nats?.stop();
  });

  it('refuses a call without an API key', async () => {
    const res = await call('/v1/audit/events', { key: null });
    assert.deepEqual([res.status, res.body.error.code], [401, 'unauthorized']);
  });

  it('lists the caller tenant\'s records in chain order, asking audit-service for that tenant with the default page of 100', async () => {
    const res = await call('/v1/audit/events');
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(ids(res.body), Array.from({ length: 12 }, (_, i) => `dev-${i + 1}`));
    assert.equal(res.body.nextCursor, undefined);
    assert.deepEqual(Object.keys(res.body), ['events']);
    assert.deepEqual(lastQuery(), { tenant: 'dev', limit: 100 });
    const record = res.body.events[2];
    assert.deepEqual([record.seq, record.type, record.data, record.prevHash], [3, 'model.call', { tokens: 12 }, res.body.events[1].hash]);

    const other = await call('/v1/audit/events', { key: OTHER_KEY });
    assert.deepEqual(ids(other.body), ['other-1', 'other-2', 'other-3']);
    assert.equal(lastQuery().tenant, 'other');
  });

  it('forwards every filter to audit-service as given, with from/to in UTC', async () => {
    const q = `traceId=${TRACE_A}&sessionId=ses_1&runId=ses_1:1&actor=service:session-agent&type=tool&from=2026-11-27T10:01:00%2B01:00&to=2026-11-27T09:04:00Z&limit=7`;
    const res = await call(`/v1/audit/events?${q}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(lastQuery(), {
      tenant: 'dev',
      traceId: TRACE_A,
      sessionId: 'ses_1',
      runId: 'ses_1:1',
      actor: 'service:session-agent',
      type: 'tool',
      from: '2026-11-27T09:01:00.000Z',
      to: '2026-11-27T09:04:00.000Z',
      limit: 7,
    });
    assert.deepEqual(ids(res.body), ['dev-4']);

    await call('/v1/audit/events?taskId=tsk_9&from=2026-11-27');
    assert.deepEqual(lastQuery(), { tenant: 'dev', taskId: 'tsk_9', from: '2026-11-27T00:00:00.000Z', limit: 100 });
  });

  it('finds records by trace, session, task, actor, type and time range, the caller tenant\'s only', async () => {
    const by = async (q: string): Promise<string[]> => ids((await call(`/v1/audit/events?${q}`)).body);
    assert.deepEqual(await by(`traceId=${TRACE_B}`), ['dev-7', 'dev-8', 'dev-9', 'dev-10']);
    assert.deepEqual(await by('sessionId=ses_1&type=session'), ['dev-1', 'dev-12']);
    assert.deepEqual(await by('taskId=tsk_9&type=tool.call'), ['dev-9']);
    assert.deepEqual(await by('actor=api_key:ops-1'), ['dev-11']);
    assert.deepEqual(await by('from=2026-11-27T09:02:00Z&to=2026-11-27T09:04:00Z'), ['dev-3', 'dev-4']);
    assert.deepEqual(await by(`traceId=${TRACE_A}&type=tool.call`), ['dev-4'], 'not other-1..3, which share the trace id');
  });

  it('takes the tenant from the key only: a tenant parameter is refused and nothing is asked', async () => {
    const sent = fake.queries.length;
    const res = await call('/v1/audit/events?tenant=other');
    assert.deepEqual([res.status, res.body.error.code, res.body.error.field], [400, 'validation_failed', 'tenant']);
    const exported = await call('/v1/audit/export?tenant=other');
    assert.deepEqual([exported.status, exported.body.error.field], [400, 'tenant']);
    const verify = await call('/v1/audit/verify?tenant=other');
    assert.deepEqual([verify.status, verify.body.error.field], [400, 'tenant']);
    assert.equal(fake.queries.length, sent);
  });

  it('pages with the cursor: every record once, in order, and no nextCursor on the last page', async () => {
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const res = await call(`/v1/audit/events?limit=5${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.ok(res.body.events.length <= 5);
      seen.push(...ids(res.body));
      cursor = res.body.nextCursor;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, Array.from({ length: 12 }, (_, i) => `dev-${i + 1}`));
  });

  it('answers bad parameters with 400 validation_failed naming the parameter, before asking audit-service', async () => {
    const sent = fake.queries.length;
    for (const [q, field] of [
      ['traceId=ABC', 'traceId'],
      ['sessionId=a%20b', 'sessionId'],
      ['actor=ops-1', 'actor'],
      ['type=Tool.Call', 'type'],
      ['from=yesterday', 'from'],
      ['to=2026-11-27T09:00:00', 'to'],
      ['from=2026-11-27T10:00:00Z&to=2026-11-27T09:00:00Z', 'to'],
      ['limit=0', 'limit'],
      ['limit=501', 'limit'],
      ['limit=ten', 'limit'],
      ['cursor=not%20a%20cursor', 'cursor'],
      ['type=tool&type=model', 'type'],
      ['foo=1', 'foo'],
    ] as const) {
      const res = await call(`/v1/audit/events?${q}`);
      assert.deepEqual([res.status, res.body.error?.code, res.body.error?.field], [400, 'validation_failed', field], `${q}: ${JSON.stringify(res.body)}`);
    }
    for (const [q, field] of [
      ['fromSeq=0', 'fromSeq'],
      ['toSeq=x', 'toSeq'],
      ['fromSeq=5&toSeq=2', 'toSeq'],
      ['traceId=' + TRACE_A, 'traceId'],
    ] as const) {
      const res = await call(`/v1/audit/verify?${q}`);
      assert.deepEqual([res.status, res.body.error?.code, res.body.error?.field], [400, 'validation_failed', field], `verify ${q}: ${JSON.stringify(res.body)}`);
    }
    for (const [q, field] of [
      ['cursor=abc', 'cursor'],
      ['limit=10', 'limit'],
      ['traceId=nope', 'traceId'],
    ] as const) {
      const res = await call(`/v1/audit/export?${q}`);
      assert.deepEqual([res.status, res.body.error?.code, res.body.error?.field], [400, 'validation_failed', field], `export ${q}: ${JSON.stringify(res.body)}`);
    }
    assert.equal(fake.queries.length, sent, 'nothing reached audit-service');
  });

  it('verifies the chain, a range of it, and reports the first break after a record is changed', async () => {
    const whole = await call('/v1/audit/verify');
    assert.equal(whole.status, 200, JSON.stringify(whole.body));
    const dev = fake.records.filter((r) => r.tenant === 'dev');
    assert.deepEqual(whole.body, { ok: true, checked: 12, firstSeq: 1, lastSeq: 12, lastHash: dev[11]!.hash });
    assert.deepEqual(fake.verifies[fake.verifies.length - 1], { tenant: 'dev' });

    const range = await call('/v1/audit/verify?fromSeq=3&toSeq=5');
    assert.deepEqual([range.body.ok, range.body.checked, range.body.firstSeq, range.body.lastSeq], [true, 3, 3, 5]);
    assert.deepEqual(fake.verifies[fake.verifies.length - 1], { tenant: 'dev', fromSeq: 3, toSeq: 5 });
    const byTime = await call('/v1/audit/verify?from=2026-11-27T09:10:00Z');
    assert.deepEqual([byTime.body.checked, byTime.body.firstSeq], [2, 11]);

    const victim = dev[6]!;
    const original = victim.data;
    victim.data = { forged: true };
    try {
      const broken = await call('/v1/audit/verify');
      assert.equal(broken.status, 200);
      assert.deepEqual([broken.body.ok, broken.body.checked, broken.body.break?.seq, broken.body.break?.reason, broken.body.break?.id], [false, 7, 7, 'hash_mismatch', 'dev-7']);
      assert.equal((await call('/v1/audit/verify', { key: OTHER_KEY })).body.ok, true, 'another tenant\'s chain is its own');
    } finally {
      victim.data = original;
    }
  });

  it('exports as JSON lines, paging audit-service 500 at a time, ending with a complete trailer', async () => {
    const sent = fake.queries.length;
    const res = await exportText('/v1/audit/export', BULK_KEY);
    assert.equal(res.status, 200, res.text.slice(0, 300));
    assert.match(res.type ?? '', /^application\/x-ndjson/);
    assert.ok(res.text.endsWith('\n'));
    const lines = res.lines.slice(0, -1);
    assert.equal(lines.length, BULK + 1);
    const records = lines.slice(0, -1).map((l) => JSON.parse(l) as AuditRecord);
    assert.deepEqual(records.map((r) => r.seq), Array.from({ length: BULK }, (_, i) => i + 1));
    assert.ok(records.every((r) => r.tenant === 'bulk'));
    assert.deepEqual(JSON.parse(lines[lines.length - 1]!), { export: 'complete', count: BULK });
    const asked = fake.queries.slice(sent);
    assert.equal(asked.length, 3);
    assert.ok(asked.every((q) => q.limit === 500 && q.tenant === 'bulk'));
    assert.deepEqual([asked[0]!.cursor === undefined, typeof asked[1]!.cursor, typeof asked[2]!.cursor], [true, 'string', 'string']);

    const filtered = await exportText(`/v1/audit/export?traceId=${TRACE_A}&type=tool`);
    const fl = filtered.lines.slice(0, -1);
    assert.deepEqual(fl.slice(0, -1).map((l) => JSON.parse(l).id), ['dev-4', 'dev-5']);
    assert.deepEqual(JSON.parse(fl[fl.length - 1]!), { export: 'complete', count: 2 });
    assert.deepEqual(lastQuery(), { tenant: 'dev', traceId: TRACE_A, type: 'tool', limit: 500 });

    const empty = await exportText('/v1/audit/export?type=guard');
    assert.deepEqual([empty.status, empty.text], [200, '{"export":"complete","count":0}\n']);
  });

  it('ends an export whose later page fails with an incomplete trailer naming the error and where to resume', async () => {
    fake.fault = (_subject, req) => (req.cursor ? { ok: false, status: 500, code: 'internal_error', message: 'the audit store failed' } : undefined);
    let res;
    try {
      res = await exportText('/v1/audit/export', BULK_KEY);
    } finally {
      fake.fault = undefined;
    }
    assert.equal(res.status, 200);
    const lines = res.lines.slice(0, -1);
    assert.equal(lines.length, 501);
    const trailer = JSON.parse(lines[500]!);
    assert.deepEqual([trailer.export, trailer.count, trailer.error], ['incomplete', 500, { code: 'internal_error', message: 'the audit store failed' }]);
    const rest = await call(`/v1/audit/events?limit=500&cursor=${trailer.cursor}`, { key: BULK_KEY });
    assert.equal(rest.body.events[0].seq, 501, 'the trailer cursor continues where the export stopped');
  });

  it('stops paging when the export client goes away', async () => {
    fake.fault = async (_subject, req) => {
      if (req.cursor) await sleep(400);
      return undefined;
    };
    const sent = fake.queries.length;
    try {
      const abort = new AbortController();
      const res = await fetch(`${gateway.base}/v1/audit/export`, { headers: { authorization: `Bearer ${BULK_KEY}` }, signal: abort.signal });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const first = await reader.read();
      assert.ok(first.value && first.value.length > 0);
      abort.abort();
      await reader.cancel().catch(() => undefined);
      await sleep(1_500);
      // The first page, then at most the one in flight when the client left (pages 2 and 3 each take 400 ms).
      const asked = fake.queries.length - sent;
      assert.ok(asked >= 1 && asked <= 2, `expected the first page and at most one more, audit-service was asked ${asked} times`);
    } finally {
      fake.fault = undefined;
    }
  });

  it('passes audit-service error replies through with their status, code, message and field', async () => {
    fake.fault = () => ({ ok: false, status: 422, code: 'range_too_large', message: 'fromSeq: verify at most 1000000 records at once', field: 'fromSeq' });
    try {
      for (const path of ['/v1/audit/events', '/v1/audit/verify', '/v1/audit/export']) {
        const res = await call(path);
        assert.equal(res.status, 422, path);
        assert.deepEqual(res.body, { error: { code: 'range_too_large', message: 'fromSeq: verify at most 1000000 records at once', field: 'fromSeq' } }, path);
      }
    } finally {
      fake.fault = undefined;
    }
    const badCursor = await call('/v1/audit/events?cursor=bm9wZQ');
    assert.deepEqual([badCursor.status, badCursor.body.error.code, badCursor.body.error.field], [400, 'validation_failed', 'cursor']);
  });

  it('has no write routes: POST, PUT, PATCH and DELETE are answered like unknown routes', async () => {
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) {
      for (const path of ['/v1/audit/events', '/v1/audit/events/dev-1', '/v1/audit']) {
        const res = await call(path, { method, ...(method === 'DELETE' ? {} : { body: '{}' }) });
        assert.deepEqual([res.status, res.body?.error?.code], [404, 'not_found'], `${method} ${path}`);
      }
    }
    assert.equal(fake.records.filter((r) => r.tenant === 'dev').length, 12);
  });

  it('answers 503 unavailable when audit-service is not running or does not answer in time', async () => {
    await fake.stop();
    for (const path of ['/v1/audit/events', '/v1/audit/verify', '/v1/audit/export']) {
      const res = await call(path);
      assert.deepEqual([res.status, res.body?.error?.code], [503, 'unavailable'], `${path}: ${JSON.stringify(res.body)}`);
      assert.match(res.body.error.message, /audit-service is not running/);
    }
    const silent = nc.subscribe(AuditSubjects.queryRpc);
    await nc.flush();
    try {
      const started = Date.now();
      const res = await call('/v1/audit/events');
      assert.deepEqual([res.status, res.body?.error?.code], [503, 'unavailable']);
      assert.match(res.body.error.message, /did not answer within 1500 ms/);
      assert.ok(Date.now() - started >= 1_400);
    } finally {
      silent.unsubscribe();
    }
  });
});
