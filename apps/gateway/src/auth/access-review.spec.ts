import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { AuditRecord } from '@keelson/contracts';
import { accessReviewCsv, buildAccessReview } from './access-review';

let seq = 0;
function record(type: string, time: string, data: Record<string, unknown>, actor = { kind: 'api_key' as const, id: 'k1' }): AuditRecord {
  seq++;
  return { id: `e${seq}`, tenant: 'acme', type, time, service: 'gateway', actor, data, refs: [], seq, prevHash: '0'.repeat(64), hash: '1'.repeat(64), storedAt: time } as AuditRecord;
}
const access = (minute: string, calls: number, sources: string[], keyId = 'k1') =>
  record('auth.access', minute, { keyId, minute, calls, errors: 0, routes: [{ route: 'POST /v1/tasks', calls, errors: 0 }], sources: sources.map((address) => ({ address, calls })) }, { kind: 'api_key', id: keyId });

describe('the access review', () => {
  const from = new Date('2026-11-27T00:00:00Z');
  const to = new Date('2026-11-28T00:00:00Z');

  it('adds up calls per key, route and source, and names new addresses, spikes and denial bursts', () => {
    const events = [
      access('2026-11-27T10:00:00.000Z', 5, ['10.0.0.1']),
      access('2026-11-27T10:00:00.000Z', 3, ['10.0.0.1']),
      access('2026-11-27T10:01:00.000Z', 4, ['10.0.0.1']),
      access('2026-11-27T10:02:00.000Z', 400, ['203.0.113.7']),
      ...Array.from({ length: 3 }, () => record('auth.denied', '2026-11-27T11:00:05.000Z', { reason: 'missing_scope', keyId: 'k1', suppressedBefore: 3 })),
      record('admin.key_created', '2026-11-27T09:00:00.000Z', { keyId: 'k1' }, { kind: 'api_key', id: 'root' }),
      access('2026-11-27T12:00:00.000Z', 2, ['10.0.0.5'], 'k2'),
    ];
    const before = [access('2026-11-26T10:00:00.000Z', 1, ['10.0.0.1'])];
    const review = buildAccessReview({ tenant: 'acme', from, to, events, before, keys: [{ id: 'k1', name: 'ci', status: 'active' }], truncated: false });
    const k1 = review.keys.find((k) => k.keyId === 'k1')!;
    assert.equal(k1.name, 'ci');
    assert.equal(k1.calls, 412, 'two replicas writing the same minute add up');
    assert.deepEqual(k1.routes, [{ route: 'POST /v1/tasks', calls: 412, errors: 0 }]);
    assert.deepEqual(k1.sources.map((s) => [s.address, s.new]), [['203.0.113.7', true], ['10.0.0.1', false]]);
    assert.equal(k1.denials, 12);
    assert.deepEqual(k1.unusual.map((u) => u.kind), ['new_source', 'spike', 'denial_burst']);
    assert.deepEqual(review.denials, { total: 12, byReason: { missing_scope: 12 } });
    assert.deepEqual(review.keyChanges, [{ at: '2026-11-27T09:00:00.000Z', type: 'admin.key_created', keyId: 'k1', by: 'api_key:root' }]);
    const k2 = review.keys.find((k) => k.keyId === 'k2')!;
    assert.deepEqual(k2.unusual, [], 'a key with no earlier history has no "new" addresses');
    assert.equal(review.keys[0]!.keyId, 'k1', 'keys with unusual activity first');
  });

  it('exports one CSV row per key, quoting what needs it and defusing spreadsheet formulas', () => {
    const review = buildAccessReview({ tenant: 'acme', from, to, events: [access('2026-11-27T10:00:00.000Z', 1, ['10.0.0.1'])], before: [], keys: [{ id: 'k1', name: '=HYPERLINK("x"), ci' }], truncated: false });
    const [header, row, end] = accessReviewCsv(review).split('\n');
    assert.match(header!, /^keyId,name,status,calls/);
    assert.match(row!, /^k1,"'=HYPERLINK\(""x""\), ci",,1,/);
    assert.equal(end, '');
  });
});
