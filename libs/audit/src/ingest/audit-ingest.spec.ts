import { strict as assert } from 'node:assert';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import type { AuditEvent } from '@keelson/contracts';
import { verifyRange } from '../chain/verify-range';
import type { AuditStore } from '../store/audit-store';
import { openSqliteAuditStore, type SqliteAuditStore } from '../store/sqlite-audit-store';
import { auditEvent } from '../testing/audit-store-contract';
import { AuditIngest } from './audit-ingest';

const dir = mkdtempSync(join(tmpdir(), 'keelson-audit-ingest-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let files = 0;

/** The SQLite store, with every append call's batch recorded. */
function spied(store: SqliteAuditStore): AuditStore & { batches: string[][]; failNext?: Error } {
  const spy = Object.assign(Object.create(store) as SqliteAuditStore, { batches: [] as string[][], failNext: undefined as Error | undefined });
  spy.append = async (events: AuditEvent[], storedAt?: Date) => {
    spy.batches.push(events.map((e) => e.id));
    if (spy.failNext) {
      const err = spy.failNext;
      spy.failNext = undefined;
      throw err;
    }
    return store.append(events, storedAt);
  };
  return spy;
}

describe('AuditIngest', () => {
  let store: ReturnType<typeof spied>;
  afterEach(() => store.close());
  beforeEach(() => {
    store = spied(openSqliteAuditStore({ path: join(dir, `ingest-${++files}.db`) }));
  });

  it('writes the events submitted in one tick with one append call, in submission order', async () => {
    const ingest = new AuditIngest(store);
    const events = Array.from({ length: 10 }, () => auditEvent('acme'));
    const results = await Promise.all(events.map((e) => ingest.submit(e)));
    assert.deepEqual(store.batches, [events.map((e) => e.id)]);
    assert.deepEqual(results.map((r) => [r.outcome, r.record.id, r.record.seq]), events.map((e, i) => ['stored', e.id, i + 1]));
    const later = await ingest.submit(auditEvent('acme'));
    assert.equal(later.record.seq, 11);
    assert.equal(store.batches.length, 2, 'a later tick is a new batch');
  });

  it('cuts batches at maxBatch and keeps the order across them', async () => {
    const ingest = new AuditIngest(store, { maxBatch: 4 });
    const events = Array.from({ length: 10 }, (_, i) => auditEvent(i % 2 ? 'acme' : 'globex'));
    await Promise.all(events.map((e) => ingest.submit(e)));
    assert.deepEqual(store.batches.map((b) => b.length), [4, 4, 2]);
    assert.deepEqual(store.batches.flat(), events.map((e) => e.id));
    assert.equal((await verifyRange(store, 'acme')).checked, 5);
  });

  it('rejects every submit of a batch whose append fails; a retry stores them once', async () => {
    const ingest = new AuditIngest(store);
    const events = [auditEvent('acme'), auditEvent('acme')];
    store.failNext = new Error('disk full');
    const settled = await Promise.allSettled(events.map((e) => ingest.submit(e)));
    assert.deepEqual(settled.map((s) => s.status), ['rejected', 'rejected']);
    assert.match(String((settled[0] as PromiseRejectedResult).reason), /disk full/);
    const retried = await Promise.all([...events, events[0]!].map((e) => ingest.submit(e)));
    assert.deepEqual(retried.map((r) => [r.outcome, r.record.seq]), [['stored', 1], ['stored', 2], ['duplicate', 1]]);
  });

  it('redacts each event before it is chained, also when redaction is async and finishes out of order', async () => {
    const ingest = new AuditIngest(store, {
      redact: async (event) => {
        await new Promise((r) => setTimeout(r, event.data['slow'] ? 20 : 0));
        return { ...event, data: { ...event.data, email: '[email]' } };
      },
    });
    const events = [auditEvent('acme', { data: { email: 'a@b.c', slow: true } }), auditEvent('acme', { data: { email: 'd@e.f' } })];
    const results = await Promise.all(events.map((e) => ingest.submit(e)));
    assert.deepEqual(results.map((r) => [r.record.id, r.record.data['email']]), [[events[0]!.id, '[email]'], [events[1]!.id, '[email]']]);
    const stored = await store.readRange('acme', {}, 10);
    assert.ok(stored.every((r) => r.data['email'] === '[email]'), 'only the redacted form is stored');
    assert.equal((await verifyRange(store, 'acme')).ok, true);
  });

  it('rejects only the event whose redaction fails', async () => {
    const ingest = new AuditIngest(store, {
      redact: (event) => {
        if (event.data['bad']) throw new Error('guard unavailable');
        return event;
      },
    });
    const settled = await Promise.allSettled([auditEvent('acme'), auditEvent('acme', { data: { bad: true } }), auditEvent('acme')].map((e) => ingest.submit(e)));
    assert.deepEqual(settled.map((s) => s.status), ['fulfilled', 'rejected', 'fulfilled']);
    assert.equal((await store.head('acme'))!.seq, 2);
  });

  it('flushes on close and refuses submits after it', async () => {
    const ingest = new AuditIngest(store);
    const pending = ingest.submit(auditEvent('acme'));
    await ingest.close();
    assert.equal((await store.head('acme'))?.seq, 1, 'written by close()');
    assert.equal((await pending).outcome, 'stored');
    await assert.rejects(ingest.submit(auditEvent('acme')), /closed/);
  });
});
