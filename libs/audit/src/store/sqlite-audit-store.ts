import type BetterSqlite3 from 'better-sqlite3';
import type { AuditEvent, AuditQuery, AuditRecord } from '@keelson/contracts';
import { sealRecord } from '../chain/record-hash';
import type { AppendResult, AuditPage, AuditRange, AuditStore } from './audit-store';
import { decodeCursor, encodeCursor } from './cursor';
import { equalityFilters, expiresAt, fromStored, indexedFields, typeFilter, type IndexedFields } from './stored-record';

export interface SqliteAuditStoreOptions {
  /** The database file (created when missing). Several processes may share it. */
  path: string;
  /** Days a tenant's records are kept; undefined keeps them forever. Read at append time. */
  retentionDays?: (tenant: string) => number | undefined;
}

const SCHEMA = `
-- A rowid table: rows carry ~1 KB bodies, which SQLite advises against clustering WITHOUT ROWID (and it benchmarked slower).
CREATE TABLE IF NOT EXISTS audit_records (
  tenant TEXT NOT NULL, seq INTEGER NOT NULL, id TEXT NOT NULL,
  type TEXT NOT NULL, category TEXT NOT NULL, actor TEXT NOT NULL, time_ms INTEGER NOT NULL,
  trace_id TEXT, session_id TEXT, task_id TEXT, run_id TEXT,
  prev_hash TEXT NOT NULL, hash TEXT NOT NULL, body TEXT NOT NULL, expire_at INTEGER,
  PRIMARY KEY (tenant, seq), UNIQUE (tenant, id)
);
CREATE INDEX IF NOT EXISTS audit_trace ON audit_records (tenant, trace_id, seq) WHERE trace_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_session ON audit_records (tenant, session_id, seq) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_task ON audit_records (tenant, task_id, seq) WHERE task_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_run ON audit_records (tenant, run_id, seq) WHERE run_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS audit_actor ON audit_records (tenant, actor, seq);
CREATE INDEX IF NOT EXISTS audit_type ON audit_records (tenant, type, seq);
CREATE INDEX IF NOT EXISTS audit_category ON audit_records (tenant, category, seq);
CREATE INDEX IF NOT EXISTS audit_time ON audit_records (tenant, time_ms, seq);
CREATE INDEX IF NOT EXISTS audit_expire ON audit_records (expire_at) WHERE expire_at IS NOT NULL;
-- The head outlives its records: when retention purges a whole chain, the next record still continues it.
CREATE TABLE IF NOT EXISTS audit_heads (tenant TEXT PRIMARY KEY, seq INTEGER NOT NULL, hash TEXT NOT NULL) WITHOUT ROWID;
`;

const COLUMNS: Record<keyof Omit<IndexedFields, 'tenant' | 'seq'>, string> = {
  id: 'id', type: 'type', category: 'category', actor: 'actor', timeMs: 'time_ms',
  traceId: 'trace_id', sessionId: 'session_id', taskId: 'task_id', runId: 'run_id', prevHash: 'prev_hash',
};

interface Row {
  tenant: string; seq: number; id: string; type: string; category: string; actor: string; time_ms: number;
  trace_id: string | null; session_id: string | null; task_id: string | null; run_id: string | null;
  prev_hash: string; hash: string; body: string;
}

const SELECT = 'SELECT tenant, seq, id, type, category, actor, time_ms, trace_id, session_id, task_id, run_id, prev_hash, hash, body FROM audit_records';

const pick = <T extends object>(from: T, keys: (keyof T)[]): Partial<T> =>
  Object.fromEntries(keys.filter((k) => from[k] !== undefined).map((k) => [k, from[k]])) as Partial<T>;

function toRecord(r: Row): AuditRecord {
  return fromStored(r.body, r.hash, {
    tenant: r.tenant, seq: r.seq, id: r.id, type: r.type, category: r.category, actor: r.actor, timeMs: r.time_ms,
    traceId: r.trace_id, sessionId: r.session_id, taskId: r.task_id, runId: r.run_id, prevHash: r.prev_hash,
  });
}

/** The embedded default: one SQLite file in WAL mode, safe to share between processes. */
export class SqliteAuditStore implements AuditStore {
  private readonly stmt;
  private readonly selects = new Map<string, BetterSqlite3.Statement<Record<string, unknown>, Row>>();
  private readonly appendTx: (events: AuditEvent[], storedAt: Date) => AppendResult[];

  constructor(
    private readonly db: BetterSqlite3.Database,
    private readonly retentionDays: (tenant: string) => number | undefined = () => undefined,
  ) {
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL'); // with WAL: durable across process crashes, an OS crash may lose the last commits
    db.pragma('busy_timeout = 10000');
    db.pragma('cache_size = -32768'); // 32 MiB: nine indexes on random ids thrash the default 2 MiB page cache
    db.exec(SCHEMA);
    this.stmt = {
      byId: db.prepare<[string, string], Row>(`${SELECT} WHERE tenant = ? AND id = ?`),
      head: db.prepare<[string], { seq: number; hash: string }>('SELECT seq, hash FROM audit_heads WHERE tenant = ?'),
      setHead: db.prepare('INSERT INTO audit_heads (tenant, seq, hash) VALUES (?, ?, ?) ON CONFLICT (tenant) DO UPDATE SET seq = excluded.seq, hash = excluded.hash'),
      insert: db.prepare(
        `INSERT INTO audit_records (tenant, seq, id, type, category, actor, time_ms, trace_id, session_id, task_id, run_id, prev_hash, hash, body, expire_at)
         VALUES (@tenant, @seq, @id, @type, @category, @actor, @timeMs, @traceId, @sessionId, @taskId, @runId, @prevHash, @hash, @body, @expireAt)
         ON CONFLICT (tenant, id) DO NOTHING`,
      ),
      // Only an expired prefix of each chain goes, so retention never leaves a hole inside a chain.
      purge: db.prepare(
        `DELETE FROM audit_records AS a WHERE a.expire_at IS NOT NULL AND a.expire_at <= @now AND a.seq < COALESCE(
           (SELECT MIN(b.seq) FROM audit_records b WHERE b.tenant = a.tenant AND (b.expire_at IS NULL OR b.expire_at > @now)), 9007199254740991)`,
      ),
    };
    const tx = db.transaction((events: AuditEvent[], storedAt: Date) => {
      const heads = new Map<string, { seq: number; hash: string } | undefined>();
      const storedAtIso = storedAt.toISOString();
      const results = events.map((event): AppendResult => {
        if (!heads.has(event.tenant)) heads.set(event.tenant, this.stmt.head.get(event.tenant));
        const { record, body } = sealRecord(event, heads.get(event.tenant), storedAtIso);
        const expireAt = expiresAt(storedAt.getTime(), this.retentionDays(event.tenant));
        // A stored (tenant, id) makes the insert a no-op: the event is a duplicate and takes no seq.
        if (this.stmt.insert.run({ ...indexedFields(record), hash: record.hash, body, expireAt }).changes === 0) {
          return { outcome: 'duplicate', record: toRecord(this.stmt.byId.get(event.tenant, event.id)!) };
        }
        heads.set(record.tenant, { seq: record.seq, hash: record.hash });
        return { outcome: 'stored', record };
      });
      for (const [tenant, head] of heads) if (head) this.stmt.setHead.run(tenant, head.seq, head.hash);
      return results;
    });
    // IMMEDIATE takes the write lock before reading the head, so two processes on one file cannot fork a chain.
    this.appendTx = tx.immediate;
  }

  async append(events: AuditEvent[], storedAt = new Date()): Promise<AppendResult[]> {
    return events.length === 0 ? [] : this.appendTx(events, storedAt);
  }

  async query(tenant: string, query: AuditQuery): Promise<AuditPage> {
    const where = ['tenant = @tenant', 'seq > @after'];
    const params: Record<string, unknown> = { tenant, after: decodeCursor(query.cursor), limit: query.limit + 1 };
    for (const [key, value] of Object.entries(equalityFilters(query))) {
      where.push(`${COLUMNS[key as keyof typeof COLUMNS]} = @${key}`);
      params[key] = value;
    }
    if (query.type !== undefined) {
      const [key, value] = Object.entries(typeFilter(query.type))[0]!;
      where.push(`${key} = @typeFilter`);
      params['typeFilter'] = value;
    }
    this.timeWhere(query, where, params);
    const rows = this.select(where).all(params);
    const events = rows.slice(0, query.limit).map(toRecord);
    return rows.length > query.limit ? { events, nextCursor: encodeCursor(events[events.length - 1]!.seq) } : { events };
  }

  async readRange(tenant: string, range: AuditRange, limit: number): Promise<AuditRecord[]> {
    const where = ['tenant = @tenant'];
    const params: Record<string, unknown> = { tenant, limit };
    if (range.fromSeq !== undefined) where.push('seq >= @fromSeq');
    if (range.toSeq !== undefined) where.push('seq <= @toSeq');
    Object.assign(params, pick(range, ['fromSeq', 'toSeq']));
    this.timeWhere(range, where, params);
    return this.select(where).all(params).map(toRecord);
  }

  async head(tenant: string): Promise<{ seq: number; hash: string } | undefined> {
    const head = this.stmt.head.get(tenant);
    return head ? { seq: head.seq, hash: head.hash } : undefined;
  }

  async purgeExpired(now: Date): Promise<number> {
    return this.stmt.purge.run({ now: now.getTime() }).changes;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** Prepared once per filter combination (there are few). */
  private select(where: string[]): BetterSqlite3.Statement<Record<string, unknown>, Row> {
    const sql = `${SELECT} WHERE ${where.join(' AND ')} ORDER BY seq LIMIT @limit`;
    let stmt = this.selects.get(sql);
    if (!stmt) this.selects.set(sql, (stmt = this.db.prepare<Record<string, unknown>, Row>(sql)));
    return stmt;
  }

  private timeWhere(range: { from?: string; to?: string }, where: string[], params: Record<string, unknown>): void {
    if (range.from !== undefined) {
      where.push('time_ms >= @fromMs');
      params['fromMs'] = Date.parse(range.from);
    }
    if (range.to !== undefined) {
      where.push('time_ms < @toMs');
      params['toMs'] = Date.parse(range.to);
    }
  }
}

/** Opens (creating when missing) a SQLite audit store. better-sqlite3 is loaded here, not when the package is imported. */
export function openSqliteAuditStore(options: SqliteAuditStoreOptions): SqliteAuditStore {
  const Database = require('better-sqlite3') as typeof BetterSqlite3;
  return new SqliteAuditStore(new Database(options.path), options.retentionDays);
}
