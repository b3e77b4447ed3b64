import type { AuditQuery, AuditRecord } from '@keelson/contracts';
import { recordBody } from '../chain/record-hash';

/** The indexed copies of record fields that adapters keep next to the body, so queries can filter on them. */
export interface IndexedFields {
  tenant: string;
  seq: number;
  id: string;
  type: string;
  category: string;
  actor: string;
  timeMs: number;
  traceId: string | null;
  sessionId: string | null;
  taskId: string | null;
  runId: string | null;
  prevHash: string;
}

export const actorKey = (actor: AuditRecord['actor']): string => `${actor.kind}:${actor.id}`;

export function indexedFields(record: AuditRecord): IndexedFields {
  return {
    tenant: record.tenant,
    seq: record.seq,
    id: record.id,
    type: record.type,
    category: record.type.split('.')[0]!,
    actor: actorKey(record.actor),
    timeMs: Date.parse(record.time),
    traceId: record.traceId ?? null,
    sessionId: record.sessionId ?? null,
    taskId: record.taskId ?? null,
    runId: record.runId ?? null,
    prevHash: record.prevHash,
  };
}

/** What an adapter stores: the hashed body (canonical JSON of the record without `hash`), the hash, the copies. */
export function toStored(record: AuditRecord): { body: string; hash: string; fields: IndexedFields } {
  return { body: recordBody(record), hash: record.hash, fields: indexedFields(record) };
}

/**
 * Rebuilds a record from its body, then lays the indexed copies over it. When someone edited a copy (a query
 * filters on it) but not the body, the record returned says what the copy says, so its hash no longer matches
 * and verification reports the change instead of queries silently disagreeing with the chain.
 */
export function fromStored(body: string, hash: string, fields: IndexedFields): AuditRecord {
  const record = JSON.parse(body) as AuditRecord;
  const have = indexedFields({ ...record, hash });
  record.hash = hash;
  if (have.seq !== fields.seq) record.seq = fields.seq;
  if (have.tenant !== fields.tenant) record.tenant = fields.tenant;
  if (have.id !== fields.id) record.id = fields.id;
  if (have.prevHash !== fields.prevHash) record.prevHash = fields.prevHash;
  if (have.type !== fields.type || have.category !== fields.category) record.type = fields.type;
  if (have.actor !== fields.actor) {
    const at = fields.actor.indexOf(':');
    record.actor = { kind: fields.actor.slice(0, at) as AuditRecord['actor']['kind'], id: fields.actor.slice(at + 1) };
  }
  if (have.timeMs !== fields.timeMs) record.time = new Date(fields.timeMs).toISOString();
  for (const key of ['traceId', 'sessionId', 'taskId', 'runId'] as const) {
    if (have[key] === fields[key]) continue;
    if (fields[key] === null) delete record[key];
    else record[key] = fields[key]!;
  }
  return record;
}

/** The type filter: a whole category (`tool`) or an exact type (`tool.call`). */
export function typeFilter(type: string): { category: string } | { type: string } {
  return type.includes('.') ? { type } : { category: type };
}

/** Query filters other than type and time, as indexed-field name and value. */
export function equalityFilters(query: AuditQuery): Partial<Record<'traceId' | 'sessionId' | 'taskId' | 'runId' | 'actor', string>> {
  const out: Partial<Record<'traceId' | 'sessionId' | 'taskId' | 'runId' | 'actor', string>> = {};
  for (const key of ['traceId', 'sessionId', 'taskId', 'runId', 'actor'] as const) if (query[key] !== undefined) out[key] = query[key];
  return out;
}

export const DAY_MS = 24 * 60 * 60_000;

/** When a record stored at `storedAtMs` expires, or null to keep it. */
export function expiresAt(storedAtMs: number, days: number | undefined): number | null {
  return days === undefined || !(days > 0) ? null : storedAtMs + days * DAY_MS;
}
