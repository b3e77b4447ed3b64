import type { AuditEvent, AuditQuery, AuditRecord } from '@keelson/contracts';

/** What became of one event handed to append(). */
export interface AppendResult {
  /** `duplicate`: an event with this id was already stored for the tenant; `record` is the stored one. */
  outcome: 'stored' | 'duplicate';
  record: AuditRecord;
}

/** A stretch of one tenant's chain, by seq (inclusive) or by event time (`from` inclusive, `to` exclusive). */
export interface AuditRange {
  fromSeq?: number;
  toSeq?: number;
  from?: string;
  to?: string;
}

export interface AuditPage {
  events: AuditRecord[];
  /** Present when more records match: pass it back as `cursor`. */
  nextCursor?: string;
}

/**
 * The durable audit store. Records are append-only: no method changes or removes a stored record, except
 * purgeExpired(), which drops whole records past their tenant's retention, oldest first.
 * Adapters: SQLite (embedded default) and MongoDB (mongoose); one contract suite runs against both.
 */
export interface AuditStore {
  /**
   * Appends events in the order given, each chained to its tenant's head (seq + 1, prevHash = head hash).
   * Each event is stored whole or not at all; when the call fails part-way, a retry of the same events finds
   * the ones already stored as duplicates. An event whose (tenant, id) is stored already is not stored again
   * and comes back as `duplicate` with the stored record. Concurrent calls (also from other processes
   * sharing the database) never fork a chain: seqs stay gapless and each prevHash is its predecessor's hash.
   */
  append(events: AuditEvent[], storedAt?: Date): Promise<AppendResult[]>;
  /** The tenant's records matching the query's filters, in seq order, a page at a time. */
  query(tenant: string, query: AuditQuery): Promise<AuditPage>;
  /** The tenant's records in a range, in seq order, at most `limit` of them. */
  readRange(tenant: string, range: AuditRange, limit: number): Promise<AuditRecord[]>;
  /** The last record's seq and hash, or undefined for a tenant with no records. */
  head(tenant: string): Promise<{ seq: number; hash: string } | undefined>;
  /** Removes records whose retention ended before `now`; returns how many. */
  purgeExpired(now: Date): Promise<number>;
  close(): Promise<void>;
}
