import { createHash } from 'node:crypto';
import { GENESIS_HASH, type AuditEvent, type AuditRecord } from '@keelson/contracts';
import { canonicalJson } from './canonical-json';

export type UnhashedRecord = Omit<AuditRecord, 'hash'>;

/** The exact bytes a record's hash covers: the canonical JSON of every field but `hash` (storedAt included). */
export function recordBody(record: UnhashedRecord | AuditRecord): string {
  const { hash: _hash, ...rest } = record as AuditRecord;
  return canonicalJson(rest);
}

export function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** sha256 (hex) over the canonical JSON of every record field except `hash`. */
export function recordHash(record: UnhashedRecord | AuditRecord): string {
  return sha256Hex(recordBody(record));
}

/** Chains one event after the head (`prev` undefined: the tenant's first record). */
export function chainRecord(event: AuditEvent, prev: { seq: number; hash: string } | undefined, storedAt: string): AuditRecord {
  return sealRecord(event, prev, storedAt).record;
}

/** chainRecord, also giving the hashed body, so a store need not serialise the record a second time. */
export function sealRecord(event: AuditEvent, prev: { seq: number; hash: string } | undefined, storedAt: string): { record: AuditRecord; body: string } {
  const unhashed: UnhashedRecord = { ...event, seq: (prev?.seq ?? 0) + 1, prevHash: prev?.hash ?? GENESIS_HASH, storedAt };
  const body = canonicalJson(unhashed);
  return { record: { ...unhashed, hash: sha256Hex(body) }, body };
}
