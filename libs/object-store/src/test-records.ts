import { createHash } from 'node:crypto';
import { GENESIS_HASH, type AuditRecord } from '@keelson/contracts';

const sha = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/** A chain of `count` records of `tenant` starting at `from`. */
export function auditRecords(tenant: string, from: number, count: number): AuditRecord[] {
  const records: AuditRecord[] = [];
  let prevHash = from === 1 ? GENESIS_HASH : sha(`${tenant}-${from - 1}`);
  for (let seq = from; seq < from + count; seq++) {
    const hash = sha(`${tenant}-${seq}`);
    records.push({
      id: `evt-${seq}`,
      tenant,
      type: 'tool.call',
      time: '2026-03-04T10:00:00.000Z',
      service: 'task-worker',
      actor: { kind: 'service', id: 'task-worker' },
      data: { n: seq },
      refs: [],
      seq,
      prevHash,
      hash,
      storedAt: '2026-03-04T10:00:01.000Z',
    });
    prevHash = hash;
  }
  return records;
}

