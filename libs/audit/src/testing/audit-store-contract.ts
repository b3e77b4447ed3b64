import { strict as assert } from 'node:assert';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { GENESIS_HASH, type AuditEvent, type AuditQuery, type AuditRecord } from '@keelson/contracts';
import { recordHash } from '../chain/record-hash';
import { verifyRange } from '../chain/verify-range';
import type { AuditStore } from '../store/audit-store';
import { InvalidCursorError } from '../store/cursor';

export interface AuditStoreContractSubject {
  /** A store on fresh storage; `retentionDays` as the adapter's factory takes it. */
  open(options?: { retentionDays?: (tenant: string) => number | undefined }): Promise<AuditStore>;
  /** Changes one stored record behind the store's back, as someone with database access could. */
  tamper(store: AuditStore, tenant: string, seq: number, mutate: (record: AuditRecord) => void): Promise<void>;
}

let n = 0;
const T0 = Date.parse('2026-03-01T00:00:00.000Z');
/** A valid event; `at` is minutes after a fixed start. */
export function auditEvent(tenant: string, over: Partial<AuditEvent> & { at?: number } = {}): AuditEvent {
  const { at, ...rest } = over;
  n++;
  return {
    id: `ev-${n}-${randomUUID().slice(0, 8)}`,
    tenant,
    type: 'tool.call',
    time: new Date(T0 + (at ?? n) * 60_000).toISOString(),
    service: 'task-worker',
    actor: { kind: 'service', id: 'task-worker' },
    data: { tool: 'search', n, nested: { b: [1, 'ü', null], a: true } },
    refs: [],
    ...rest,
  };
}

const page = (_tenant: string, over: Partial<AuditQuery> = {}): AuditQuery => ({ limit: 100, ...over }) as AuditQuery;
const newTenant = (): string => `t-${randomUUID().slice(0, 8)}`;
const seqs = (records: AuditRecord[]): number[] => records.map((r) => r.seq);
const rehash = (r: AuditRecord): void => {
  r.hash = recordHash(r);
};

/** One behaviour contract for every AuditStore adapter; `skip` (a reason) reports it as one skipped test. */
export function describeAuditStoreContract(name: string, subject: AuditStoreContractSubject, options: { skip?: string } = {}): void {
  if (options.skip) {
    it(`AuditStore contract: ${name}`, { skip: options.skip }, () => undefined);
    return;
  }
  describe(`AuditStore contract: ${name}`, () => {
    let store: AuditStore;
    before(async () => {
      store = await subject.open();
    });
    after(async () => {
      await store?.close();
    });
    const seed = async (tenant: string, count: number, over: Partial<AuditEvent> = {}): Promise<AuditRecord[]> =>
      (await store.append(Array.from({ length: count }, () => auditEvent(tenant, over)))).map((r) => r.record);

    it('chains each tenant from seq 1: prevHash links to the previous hash, hash covers the record', async () => {
      const tenant = newTenant();
      const storedAt = new Date('2026-03-02T10:00:00.000Z');
      const results = await store.append([auditEvent(tenant), auditEvent(tenant), auditEvent(tenant)], storedAt);
      assert.deepEqual(results.map((r) => r.outcome), ['stored', 'stored', 'stored']);
      const records = results.map((r) => r.record);
      assert.deepEqual(seqs(records), [1, 2, 3]);
      assert.equal(records[0]!.prevHash, GENESIS_HASH);
      for (let i = 1; i < 3; i++) assert.equal(records[i]!.prevHash, records[i - 1]!.hash, `record ${i + 1} links to record ${i}`);
      for (const r of records) {
        assert.equal(r.hash, recordHash(r), 'hash is sha256 over the record without its hash');
        assert.equal(r.storedAt, storedAt.toISOString());
      }
      assert.deepEqual(await store.head(tenant), { seq: 3, hash: records[2]!.hash });
      const next = await seed(tenant, 1);
      assert.equal(next[0]!.seq, 4, 'a later append continues the chain');
      assert.equal(next[0]!.prevHash, records[2]!.hash);
    });

    it('reads back exactly the record it stored (data, refs, optional fields)', async () => {
      const tenant = newTenant();
      const event = auditEvent(tenant, {
        traceId: 'a'.repeat(32), spanId: 'b'.repeat(16), sessionId: 'ses_1', agentId: 'assistant', runId: 'run:1',
        data: { z: 1, a: { y: [2, { c: 'x', b: null }], x: 'é\u2028"' } },
        refs: [{ kind: 'tool_result', bucket: 'acct-eu-keelson-payloads', key: 'k/1', sha256: 'c'.repeat(64), bytes: 99000 }],
      });
      const [stored] = await store.append([event]);
      assert.deepEqual((await store.query(tenant, page(tenant))).events, [stored!.record]);
      assert.deepEqual(await store.readRange(tenant, {}, 10), [stored!.record]);
    });

    it('stores an id once per tenant: a repeat is a duplicate with the stored record and takes no seq', async () => {
      const tenant = newTenant();
      const event = auditEvent(tenant);
      const [first] = await store.append([event]);
      const again = await store.append([{ ...event, data: { changed: true } }, auditEvent(tenant)]);
      assert.equal(again[0]!.outcome, 'duplicate');
      assert.deepEqual(again[0]!.record, first!.record);
      assert.equal(again[1]!.record.seq, 2, 'the duplicate took no seq');
      const inOneCall = auditEvent(tenant);
      const both = await store.append([inOneCall, inOneCall]);
      assert.deepEqual(both.map((r) => r.outcome), ['stored', 'duplicate']);
      assert.deepEqual(both[1]!.record, both[0]!.record);
      assert.equal((await store.head(tenant))!.seq, 3);
    });

    it('keeps tenants apart: the same id in two tenants is stored twice, each in its own chain', async () => {
      const [a, b] = [newTenant(), newTenant()];
      const id = `shared-${randomUUID()}`;
      const results = await store.append([auditEvent(a, { id }), auditEvent(b, { id })]);
      assert.deepEqual(results.map((r) => [r.outcome, r.record.tenant, r.record.seq]), [['stored', a, 1], ['stored', b, 1]]);
      await seed(a, 2);
      assert.deepEqual(seqs((await store.query(b, page(b))).events), [1]);
      assert.deepEqual((await store.query(a, page(a))).events.map((r) => r.tenant), [a, a, a]);
      assert.deepEqual(seqs(await store.readRange(b, {}, 100)), [1]);
      assert.equal((await store.head(a))!.seq, 3);
      assert.equal((await store.head(b))!.seq, 1);
      assert.equal(await store.head(newTenant()), undefined);
      assert.equal((await store.query(b, page(b, { traceId: undefined, actor: 'service:task-worker' }))).events.length, 1);
    });

    it('filters by traceId, sessionId, taskId, runId, actor, exact type, category and time range', async () => {
      const tenant = newTenant();
      const trace = 'f'.repeat(32);
      const events = [
        auditEvent(tenant, { at: 10, traceId: trace, sessionId: 'ses_a', type: 'session.opened' }),
        auditEvent(tenant, { at: 11, traceId: trace, sessionId: 'ses_a', runId: 'run_1', type: 'model.call' }),
        auditEvent(tenant, { at: 12, traceId: trace, taskId: 'task_1', runId: 'run_1', type: 'tool.call' }),
        auditEvent(tenant, { at: 13, taskId: 'task_1', type: 'tool.result', actor: { kind: 'api_key', id: 'ops-1' } }),
        auditEvent(tenant, { at: 14, type: 'admin.budget_set', actor: { kind: 'api_key', id: 'ops-1' } }),
      ];
      const ids = events.map((e) => e.id);
      await store.append(events);
      const other = newTenant();
      await store.append([auditEvent(other, { at: 12, traceId: trace, sessionId: 'ses_a', taskId: 'task_1', runId: 'run_1' })]);
      const found = async (q: Partial<AuditQuery>) => (await store.query(tenant, page(tenant, q))).events.map((r) => r.id);
      assert.deepEqual(await found({ traceId: trace }), ids.slice(0, 3), 'traceId');
      assert.deepEqual(await found({ sessionId: 'ses_a' }), ids.slice(0, 2), 'sessionId');
      assert.deepEqual(await found({ taskId: 'task_1' }), ids.slice(2, 4), 'taskId');
      assert.deepEqual(await found({ runId: 'run_1' }), ids.slice(1, 3), 'runId');
      assert.deepEqual(await found({ actor: 'api_key:ops-1' }), ids.slice(3, 5), 'actor');
      assert.deepEqual(await found({ actor: 'api_key:ops' }), [], 'actor is exact');
      assert.deepEqual(await found({ type: 'tool.call' }), [ids[2]], 'exact type');
      assert.deepEqual(await found({ type: 'tool' }), ids.slice(2, 4), 'category');
      assert.deepEqual(await found({ type: 'tool.cal' }), [], 'type is exact, not a prefix');
      const at = (m: number) => new Date(T0 + m * 60_000).toISOString();
      assert.deepEqual(await found({ from: at(11), to: at(13) }), ids.slice(1, 3), 'from inclusive, to exclusive');
      assert.deepEqual(await found({ from: at(11).replace('Z', '+00:00') }), ids.slice(1), 'from with an offset');
      assert.deepEqual(await found({ traceId: trace, type: 'tool', from: at(12) }), [ids[2]], 'filters combine');
      assert.deepEqual(seqs(await store.readRange(tenant, { from: at(11), to: at(13) }, 10)), [2, 3], 'readRange by time');
      assert.deepEqual(seqs(await store.readRange(tenant, { fromSeq: 2, toSeq: 4 }, 2)), [2, 3], 'readRange by seq, limited');
    });

    it('pages with a cursor over several pages without losing or repeating a record', async () => {
      const tenant = newTenant();
      await seed(tenant, 23, { sessionId: 'ses_p' });
      await seed(tenant, 2);
      const seen: number[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const result = await store.query(tenant, page(tenant, { sessionId: 'ses_p', limit: 5, ...(cursor && { cursor }) }));
        assert.ok(result.events.length <= 5);
        seen.push(...seqs(result.events));
        cursor = result.nextCursor;
        assert.ok(cursor === undefined || /^[A-Za-z0-9_-]{1,200}$/.test(cursor), `cursor ${cursor} fits the query schema`);
        pages++;
      } while (cursor);
      assert.deepEqual(seen, Array.from({ length: 23 }, (_, i) => i + 1));
      assert.equal(pages, 5);
      const exact = await store.query(tenant, page(tenant, { limit: 25 }));
      assert.equal(exact.events.length, 25);
      assert.equal(exact.nextCursor, undefined, 'no cursor when nothing more matches');
    });

    it('rejects a cursor it did not hand out with InvalidCursorError (code invalid_cursor, field cursor)', async () => {
      const tenant = newTenant();
      await seed(tenant, 1);
      for (const cursor of ['zzzz', Buffer.from('abc').toString('base64url'), Buffer.from('-3').toString('base64url')]) {
        await assert.rejects(store.query(tenant, page(tenant, { cursor })), (err: unknown) => {
          assert.ok(err instanceof InvalidCursorError, `expected InvalidCursorError for ${cursor}, got ${String(err)}`);
          assert.equal(err.code, 'invalid_cursor');
          assert.equal(err.field, 'cursor');
          return true;
        });
      }
    });

    it('keeps one gapless, valid chain under concurrent append calls', async () => {
      const tenant = newTenant();
      const calls = Array.from({ length: 20 }, () => store.append(Array.from({ length: 5 }, () => auditEvent(tenant))));
      const results = (await Promise.all(calls)).flat();
      assert.deepEqual(results.map((r) => r.record.seq).sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i + 1));
      const result = await verifyRange(store, tenant, {}, 17);
      assert.deepEqual({ ok: result.ok, checked: result.checked, firstSeq: result.firstSeq, lastSeq: result.lastSeq }, { ok: true, checked: 100, firstSeq: 1, lastSeq: 100 });
      assert.equal(result.lastHash, (await store.head(tenant))!.hash);
    });

    it('verifies a whole chain, a seq range and a time range whose event times are out of seq order', async () => {
      const tenant = newTenant();
      await store.append([10, 30, 20, 40, 35, 50].map((at) => auditEvent(tenant, { at })));
      assert.equal((await verifyRange(store, tenant, {}, 2)).ok, true);
      const bySeq = await verifyRange(store, tenant, { fromSeq: 2, toSeq: 5 }, 2);
      assert.deepEqual([bySeq.ok, bySeq.checked, bySeq.firstSeq, bySeq.lastSeq], [true, 4, 2, 5]);
      const at = (m: number) => new Date(T0 + m * 60_000).toISOString();
      const byTime = await verifyRange(store, tenant, { from: at(20), to: at(45) }, 2);
      assert.equal(byTime.ok, true, JSON.stringify(byTime.break));
      assert.deepEqual([byTime.firstSeq, byTime.lastSeq], [2, 5]);
      assert.deepEqual(await verifyRange(store, newTenant(), {}), { ok: true, checked: 0 });
    });

    it('reports hash_mismatch for a record changed in place', async () => {
      const tenant = newTenant();
      await seed(tenant, 5);
      await subject.tamper(store, tenant, 3, (r) => {
        r.data = { ...r.data, tool: 'rm -rf' };
      });
      const result = await verifyRange(store, tenant, {}, 2);
      assert.equal(result.ok, false);
      assert.deepEqual([result.break?.reason, result.break?.seq, result.checked, result.lastSeq], ['hash_mismatch', 3, 3, 2]);
      assert.equal((await verifyRange(store, tenant, { fromSeq: 4 })).ok, true, 'the rest of the chain still links to record 3');
    });

    it('reports prev_mismatch for a re-hashed record that no longer links, also at the start of a range', async () => {
      const tenant = newTenant();
      const records = await seed(tenant, 6);
      await subject.tamper(store, tenant, 4, (r) => {
        r.prevHash = 'e'.repeat(64);
        rehash(r);
      });
      const whole = await verifyRange(store, tenant);
      assert.deepEqual([whole.break?.reason, whole.break?.seq, whole.break?.id], ['prev_mismatch', 4, records[3]!.id]);
      const fromIt = await verifyRange(store, tenant, { fromSeq: 4 });
      assert.deepEqual([fromIt.break?.reason, fromIt.break?.seq], ['prev_mismatch', 4], 'checked against the record before the range');
    });

    it('reports prev_mismatch on the next record when a record is rewritten with a fresh hash', async () => {
      const tenant = newTenant();
      await seed(tenant, 4);
      await subject.tamper(store, tenant, 2, (r) => {
        r.data = { forged: true };
        rehash(r);
      });
      const result = await verifyRange(store, tenant);
      assert.deepEqual([result.ok, result.break?.reason, result.break?.seq], [false, 'prev_mismatch', 3]);
    });

    it('reports a gap where a record is missing', async () => {
      const tenant = newTenant();
      await seed(tenant, 5);
      await subject.tamper(store, tenant, 3, (r) => {
        r.seq = 1_000_000; // moved out of the way: seq 3 is no longer stored
      });
      const result = await verifyRange(store, tenant, {}, 2);
      assert.deepEqual([result.ok, result.break?.reason, result.break?.seq, result.checked], [false, 'gap', 3, 2]);
      const fromFour = await verifyRange(store, tenant, { fromSeq: 4 });
      assert.deepEqual([fromFour.break?.reason, fromFour.break?.seq], ['gap', 3], 'the predecessor of a range is missing though older records remain');
    });

    it('purges only expired records; the rest still verifies and the chain continues, also after a tenant is emptied', async () => {
      const short = newTenant();
      const gone = newTenant();
      const kept = newTenant();
      const retention = await subject.open({ retentionDays: (t) => (t === kept ? undefined : 1) });
      try {
        const now = new Date();
        const old = new Date(now.getTime() - 10 * 86_400_000);
        await retention.append([auditEvent(short), auditEvent(short), auditEvent(short), auditEvent(gone), auditEvent(kept)], old);
        await retention.append([auditEvent(short), auditEvent(short)], now);
        assert.equal(await retention.purgeExpired(now), 4);
        assert.deepEqual(seqs(await retention.readRange(short, {}, 10)), [4, 5]);
        assert.deepEqual(seqs(await retention.readRange(kept, {}, 10)), [1]);
        assert.deepEqual(await retention.readRange(gone, {}, 10), []);
        const verified = await verifyRange(retention, short);
        assert.deepEqual([verified.ok, verified.firstSeq, verified.lastSeq], [true, 4, 5]);
        const [next] = await retention.append([auditEvent(gone)], now);
        assert.equal(next!.record.seq, 2, 'an emptied chain continues from its head');
        assert.notEqual(next!.record.prevHash, GENESIS_HASH);
        assert.equal(await retention.purgeExpired(now), 0);
      } finally {
        await retention.close();
      }
    });
  });
}
