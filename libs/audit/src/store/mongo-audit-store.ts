import type * as MongooseTypes from 'mongoose';
import type { AuditEvent, AuditQuery, AuditRecord } from '@keelson/contracts';
import { sealRecord } from '../chain/record-hash';
import type { AppendResult, AuditPage, AuditRange, AuditStore } from './audit-store';
import { decodeCursor, encodeCursor } from './cursor';
import { equalityFilters, expiresAt, fromStored, indexedFields, typeFilter } from './stored-record';

export interface MongoAuditStoreOptions {
  url: string;
  /** Defaults to the database named in the URL (or mongoose's default). */
  dbName?: string;
  /**
   * Credentials from the secrets layer (MONGODB_PASSWORD_FILE or _REF, docs/secrets.md) instead of a
   * password in the URL, which production refuses. Read when connecting; `username` defaults to the URL's.
   */
  auth?: { username?: string; password: string };
  /** Days a tenant's records are kept; undefined keeps them forever. Sets each record's expireAt at append. */
  retentionDays?: (tenant: string) => number | undefined;
  /** Attempts per event when other writers keep taking the next seq first. Default 50. */
  maxRetries?: number;
}

/** One stored record: the hashed body, its hash, and indexed copies of the fields queries filter on. */
interface RecordDoc {
  tenant: string;
  seq: number;
  eventId: string;
  type: string;
  category: string;
  actor: string;
  timeMs: number;
  traceId?: string;
  sessionId?: string;
  taskId?: string;
  runId?: string;
  prevHash: string;
  hash: string;
  body: string;
  expireAt?: Date;
}

interface HeadDoc {
  _id: string;
  seq: number;
  hash: string;
}

function recordSchema(mongoose: typeof MongooseTypes): MongooseTypes.Schema<RecordDoc> {
  const s = new mongoose.Schema<RecordDoc>(
    {
      tenant: { type: String, required: true },
      seq: { type: Number, required: true },
      eventId: { type: String, required: true },
      type: { type: String, required: true },
      category: { type: String, required: true },
      actor: { type: String, required: true },
      timeMs: { type: Number, required: true },
      traceId: String,
      sessionId: String,
      taskId: String,
      runId: String,
      prevHash: { type: String, required: true },
      hash: { type: String, required: true },
      body: { type: String, required: true },
      expireAt: Date,
    },
    { id: false, versionKey: false, autoIndex: false, strict: 'throw' },
  );
  s.index({ tenant: 1, seq: 1 }, { unique: true, name: 'tenant_seq' });
  s.index({ tenant: 1, eventId: 1 }, { unique: true, name: 'tenant_eventId' });
  for (const field of ['traceId', 'sessionId', 'taskId', 'runId']) {
    s.index({ tenant: 1, [field]: 1, seq: 1 }, { name: `tenant_${field}_seq`, partialFilterExpression: { [field]: { $exists: true } } });
  }
  for (const field of ['actor', 'type', 'category', 'timeMs']) s.index({ tenant: 1, [field]: 1, seq: 1 }, { name: `tenant_${field}_seq` });
  // Per-tenant retention: each record carries its own expiry (absent: kept), and MongoDB's TTL monitor removes it.
  s.index({ expireAt: 1 }, { expireAfterSeconds: 0, name: 'expireAt_ttl' });
  return s;
}

const isDuplicateKey = (err: unknown, index: string): boolean => {
  const e = err as { code?: number; message?: string; keyPattern?: Record<string, unknown> };
  if (e?.code !== 11000) return false;
  if (e.keyPattern) return index === 'tenant_eventId' ? 'eventId' in e.keyPattern : 'seq' in e.keyPattern || '_id' in e.keyPattern;
  return String(e.message).includes(index === 'tenant_eventId' ? 'tenant_eventId' : index);
};

const toRecord = (d: RecordDoc): AuditRecord =>
  fromStored(d.body, d.hash, {
    tenant: d.tenant, seq: d.seq, id: d.eventId, type: d.type, category: d.category, actor: d.actor, timeMs: d.timeMs,
    traceId: d.traceId ?? null, sessionId: d.sessionId ?? null, taskId: d.taskId ?? null, runId: d.runId ?? null, prevHash: d.prevHash,
  });

/**
 * The production adapter. Standalone servers have no transactions, so append is optimistic: the unique
 * (tenant, seq) index lets one writer take each seq, and a writer that loses re-reads the head and retries.
 */
export class MongoAuditStore implements AuditStore {
  /** Serialises this process's appends, so its own calls do not race each other for seqs. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly conn: MongooseTypes.Connection,
    private readonly records: MongooseTypes.Model<RecordDoc>,
    private readonly heads: MongooseTypes.Model<HeadDoc>,
    private readonly retentionDays: (tenant: string) => number | undefined = () => undefined,
    private readonly maxRetries = 50,
  ) {}

  append(events: AuditEvent[], storedAt = new Date()): Promise<AppendResult[]> {
    const run = this.tail.then(() => this.appendNow(events, storedAt));
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async appendNow(events: AuditEvent[], storedAt: Date): Promise<AppendResult[]> {
    const results: AppendResult[] = [];
    for (const event of events) results.push(await this.appendOne(event, storedAt));
    return results;
  }

  private async appendOne(event: AuditEvent, storedAt: Date): Promise<AppendResult> {
    for (let attempt = 0; attempt < this.maxRetries; attempt++) {
      const existing = await this.records.findOne({ tenant: event.tenant, eventId: event.id }).lean<RecordDoc>();
      if (existing) return { outcome: 'duplicate', record: toRecord(existing) };
      const { record, body } = sealRecord(event, await this.head(event.tenant), storedAt.toISOString());
      const hash = record.hash;
      const { id, traceId, sessionId, taskId, runId, ...rest } = indexedFields(record);
      const expireMs = expiresAt(storedAt.getTime(), this.retentionDays(event.tenant));
      const doc: RecordDoc = {
        ...rest, eventId: id, body, hash,
        ...(traceId !== null && { traceId }), ...(sessionId !== null && { sessionId }),
        ...(taskId !== null && { taskId }), ...(runId !== null && { runId }),
        ...(expireMs !== null && { expireAt: new Date(expireMs) }),
      };
      try {
        await this.records.collection.insertOne({ ...doc });
      } catch (err) {
        // Another writer took this seq (retry on the new head) or stored this id meanwhile (then a duplicate).
        if (isDuplicateKey(err, 'tenant_seq') || isDuplicateKey(err, 'tenant_eventId')) continue;
        throw err;
      }
      await this.advanceHead(record.tenant, record.seq, record.hash);
      return { outcome: 'stored', record };
    }
    throw new Error(`audit append: gave up on event ${event.id} of tenant ${event.tenant} after ${this.maxRetries} attempts (other writers kept taking the next seq)`);
  }

  /**
   * The head document outlives TTL-expired records, so a chain continues after retention empties it. It may
   * lag one record behind a writer that died between the insert and this update: head() takes the newer.
   */
  private async advanceHead(tenant: string, seq: number, hash: string): Promise<void> {
    try {
      await this.heads.updateOne({ _id: tenant, seq: { $lt: seq } }, { $set: { seq, hash } }, { upsert: true });
    } catch (err) {
      if (!isDuplicateKey(err, '_id')) throw err; // a newer head is stored already
    }
  }

  async query(tenant: string, query: AuditQuery): Promise<AuditPage> {
    const filter: Record<string, unknown> = { tenant, seq: { $gt: decodeCursor(query.cursor) }, ...equalityFilters(query) };
    if (query.type !== undefined) Object.assign(filter, typeFilter(query.type));
    timeFilter(query, filter);
    const docs = await this.records.find(filter).sort({ seq: 1 }).limit(query.limit + 1).lean<RecordDoc[]>();
    const events = docs.slice(0, query.limit).map(toRecord);
    return docs.length > query.limit ? { events, nextCursor: encodeCursor(events[events.length - 1]!.seq) } : { events };
  }

  async readRange(tenant: string, range: AuditRange, limit: number): Promise<AuditRecord[]> {
    const filter: Record<string, unknown> = { tenant };
    if (range.fromSeq !== undefined || range.toSeq !== undefined) {
      filter['seq'] = { ...(range.fromSeq !== undefined && { $gte: range.fromSeq }), ...(range.toSeq !== undefined && { $lte: range.toSeq }) };
    }
    timeFilter(range, filter);
    const docs = await this.records.find(filter).sort({ seq: 1 }).limit(limit).lean<RecordDoc[]>();
    return docs.map(toRecord);
  }

  async head(tenant: string): Promise<{ seq: number; hash: string } | undefined> {
    const [last, stored] = await Promise.all([
      this.records.findOne({ tenant }, { seq: 1, hash: 1 }).sort({ seq: -1 }).lean<Pick<RecordDoc, 'seq' | 'hash'>>(),
      this.heads.findById(tenant).lean<HeadDoc>(),
    ]);
    const newer = last && (!stored || last.seq >= stored.seq) ? last : stored;
    return newer ? { seq: newer.seq, hash: newer.hash } : undefined;
  }

  async purgeExpired(now: Date): Promise<number> {
    // The TTL monitor removes expired records about once a minute anyway; this makes it happen now. Unlike
    // SQLite's purge it cannot keep to a prefix of each chain: lowering a tenant's retention can expire newer
    // records before older ones, and verification then reports the hole as a gap.
    const { deletedCount } = await this.records.deleteMany({ expireAt: { $lte: now } });
    return deletedCount;
  }

  async close(): Promise<void> {
    await this.tail;
    await this.conn.close();
  }
}

function timeFilter(range: { from?: string; to?: string }, filter: Record<string, unknown>): void {
  if (range.from === undefined && range.to === undefined) return;
  filter['timeMs'] = {
    ...(range.from !== undefined && { $gte: Date.parse(range.from) }),
    ...(range.to !== undefined && { $lt: Date.parse(range.to) }),
  };
}

function mongoAuth(options: MongoAuditStoreOptions): { auth?: { username: string; password: string } } {
  if (!options.auth) return {};
  const url = new URL(options.url);
  if (url.password) throw new Error('MONGODB_URL carries a password and one is given from the secrets layer: keep only the latter');
  const username = options.auth.username ?? decodeURIComponent(url.username);
  if (!username) throw new Error('a MongoDB password is given but no user name: put it in MONGODB_URL (mongodb://user@host/db)');
  return { auth: { username, password: options.auth.password } };
}

/** Connects and builds the indexes. mongoose is loaded here, not when the package is imported. */
export async function openMongoAuditStore(options: MongoAuditStoreOptions): Promise<MongoAuditStore> {
  const mongoose = require('mongoose') as typeof MongooseTypes;
  const conn = await mongoose.createConnection(options.url, { ...(options.dbName ? { dbName: options.dbName } : {}), ...mongoAuth(options) }).asPromise();
  try {
    const records = conn.model<RecordDoc>('AuditRecord', recordSchema(mongoose), 'audit_records');
    const heads = conn.model<HeadDoc>(
      'AuditHead',
      new mongoose.Schema<HeadDoc>({ _id: String, seq: { type: Number, required: true }, hash: { type: String, required: true } }, { versionKey: false }),
      'audit_heads',
    );
    await records.createIndexes();
    return new MongoAuditStore(conn, records, heads, options.retentionDays, options.maxRetries);
  } catch (err) {
    await conn.close();
    throw err;
  }
}
