import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { GENESIS_HASH, type AuditRecord } from '@keelson/contracts';
import { canonicalJson } from './canonical-json';
import { chainRecord, recordHash } from './record-hash';

describe('canonical JSON and record hashes', () => {
  it('sorts keys at every depth, drops undefined members and writes no whitespace', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: undefined }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[3,{"z":1}]},"b":1}');
    assert.equal(canonicalJson([undefined, null, 'é\n']), '[null,null,"é\\n"]');
  });

  it('gives one hash whatever the key order a store returns the record in', () => {
    const event = { id: 'e1', tenant: 'acme', type: 'tool.call', time: '2026-03-01T00:00:00.000Z', service: 's', actor: { kind: 'service' as const, id: 's' }, data: { b: 1, a: 2 }, refs: [] };
    const record = chainRecord(event, undefined, '2026-03-01T00:00:01.000Z');
    assert.equal(record.seq, 1);
    assert.equal(record.prevHash, GENESIS_HASH);
    const reordered = JSON.parse(JSON.stringify(Object.fromEntries(Object.entries(record).reverse()))) as AuditRecord;
    reordered.data = { a: 2, b: 1 };
    assert.equal(recordHash(reordered), record.hash);
    assert.notEqual(recordHash({ ...record, storedAt: '2026-03-01T00:00:02.000Z' }), record.hash, 'storedAt is covered');
    const next = chainRecord({ ...event, id: 'e2' }, record, record.storedAt);
    assert.deepEqual([next.seq, next.prevHash], [2, record.hash]);
  });
});
