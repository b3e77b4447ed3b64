import { createHash } from 'node:crypto';
import {
  AuditQueryRpcRequestSchema,
  AuditQueueGroup,
  AuditSubjects,
  AuditVerifyRpcRequestSchema,
  GENESIS_HASH,
  KeelsonError,
  ErrorCodes,
  parseOrThrow,
  type AuditBreak,
  type AuditEventInput,
  type AuditQueryRpcReply,
  type AuditQueryRpcRequest,
  type AuditRecord,
  type AuditVerifyRpcReply,
  type AuditVerifyRpcRequest,
} from '@keelson/contracts';
import { serveRequests } from '@keelson/messaging';
import type { NatsConnection } from 'nats';

type ErrorReply = { ok: false; status: number; code: string; message: string; field?: string };

/**
 * A protocol-faithful fake of audit-service's query side, for the gateway's route tests: it answers
 * keelson.rpc.audit.query and keelson.rpc.audit.verify in queue group keelson-audit with serveRequests (as a
 * service does), validates each request with the contract's RPC request schemas (an invalid one gets the
 * error reply a service would send), and answers from an in-memory list of AuditRecords with the contract's
 * semantics: the request's tenant only, every filter narrows, `type` is an exact type or a category, `actor`
 * is `{kind}:{id}`, `from` inclusive and `to` exclusive, chain (seq) order, an opaque cursor, `limit` per page.
 * What it does not share with audit-service: the storage, and the record hash (sha256 of this fake's JSON of
 * the record, not the canonical form of docs/audit.md; the gateway never recomputes hashes). Test support
 * only: nothing in the running gateway uses it. The e2e against the real audit-service is the lead's.
 */
export interface FakeAuditService {
  /** Every tenant's records, in the order appended; tests may change one to simulate tampering. */
  readonly records: AuditRecord[];
  /** Each valid query / verify request received, as parsed. */
  readonly queries: AuditQueryRpcRequest[];
  readonly verifies: AuditVerifyRpcRequest[];
  /** Called before each answer: return an error reply to send instead; may wait (a slow store). */
  fault?: (subject: string, req: Record<string, unknown>) => Promise<ErrorReply | undefined> | ErrorReply | undefined;
  stop(): Promise<void>;
}

const hashOf = (record: Omit<AuditRecord, 'hash'>): string => createHash('sha256').update(JSON.stringify(record)).digest('hex');

/** Appends `event` to its tenant's chain in `records`, as audit-service stores one. */
export function appendRecord(records: AuditRecord[], event: AuditEventInput): AuditRecord {
  const chain = records.filter((r) => r.tenant === event.tenant);
  const last = chain[chain.length - 1];
  const body = {
    data: {},
    refs: [],
    ...event,
    seq: (last?.seq ?? 0) + 1,
    prevHash: last?.hash ?? GENESIS_HASH,
    storedAt: new Date(Date.parse(event.time) + 5).toISOString(),
  } as Omit<AuditRecord, 'hash'>;
  const record = { ...body, hash: hashOf(body) } as AuditRecord;
  records.push(record);
  return record;
}

const cursorOf = (seq: number): string => Buffer.from(`seq:${seq}`).toString('base64url');
function seqOfCursor(cursor: string): number {
  const m = /^seq:(\d+)$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!m) throw new KeelsonError(400, ErrorCodes.validationFailed, 'cursor: not a cursor of this query; start again without it', 'cursor');
  return Number(m[1]);
}

function matches(r: AuditRecord, q: AuditQueryRpcRequest): boolean {
  if (r.tenant !== q.tenant) return false;
  if (q.traceId !== undefined && r.traceId !== q.traceId) return false;
  if (q.sessionId !== undefined && r.sessionId !== q.sessionId) return false;
  if (q.taskId !== undefined && r.taskId !== q.taskId) return false;
  if (q.runId !== undefined && r.runId !== q.runId) return false;
  if (q.actor !== undefined && `${r.actor.kind}:${r.actor.id}` !== q.actor) return false;
  if (q.type !== undefined && r.type !== q.type && r.type.split('.')[0] !== q.type) return false;
  if (q.from !== undefined && Date.parse(r.time) < Date.parse(q.from)) return false;
  if (q.to !== undefined && Date.parse(r.time) >= Date.parse(q.to)) return false;
  return true;
}

export function startFakeAuditService(nats: NatsConnection, records: AuditRecord[] = []): FakeAuditService {
  const fake: FakeAuditService = {
    records,
    queries: [],
    verifies: [],
    async stop() {
      await Promise.all([query.stop(), verify.stop()]);
    },
  };

  const query = serveRequests<Record<string, unknown>, AuditQueryRpcReply>(nats, AuditSubjects.queryRpc, AuditQueueGroup, async (raw) => {
    const q = parseOrThrow(AuditQueryRpcRequestSchema, raw);
    fake.queries.push(q);
    const failure = await fake.fault?.(AuditSubjects.queryRpc, raw);
    if (failure) return failure;
    const after = q.cursor === undefined ? 0 : seqOfCursor(q.cursor);
    const found = fake.records.filter((r) => matches(r, q) && r.seq > after).sort((a, b) => a.seq - b.seq);
    const events = found.slice(0, q.limit);
    const more = found.length > events.length;
    return { ok: true, events, ...(more ? { nextCursor: cursorOf(events[events.length - 1]!.seq) } : {}) };
  });

  const verify = serveRequests<Record<string, unknown>, AuditVerifyRpcReply>(nats, AuditSubjects.verifyRpc, AuditQueueGroup, async (raw) => {
    const v = parseOrThrow(AuditVerifyRpcRequestSchema, raw);
    fake.verifies.push(v);
    const failure = await fake.fault?.(AuditSubjects.verifyRpc, raw);
    if (failure) return failure;
    const chain = fake.records
      .filter((r) => r.tenant === v.tenant)
      .filter((r) => (v.fromSeq === undefined || r.seq >= v.fromSeq) && (v.toSeq === undefined || r.seq <= v.toSeq))
      .filter((r) => (v.from === undefined || Date.parse(r.time) >= Date.parse(v.from)) && (v.to === undefined || Date.parse(r.time) < Date.parse(v.to)))
      .sort((a, b) => a.seq - b.seq);
    const all = fake.records.filter((r) => r.tenant === v.tenant);
    let checked = 0;
    let broken: AuditBreak | undefined;
    for (const r of chain) {
      checked++;
      const { hash, ...rest } = r;
      const prev = all.find((p) => p.seq === r.seq - 1);
      if (r.seq > 1 && !prev) broken = { seq: r.seq, id: r.id, reason: 'gap', message: `seq ${r.seq - 1} is missing` };
      else if (hashOf(rest) !== hash) broken = { seq: r.seq, id: r.id, reason: 'hash_mismatch', message: `record ${r.seq} does not match its hash` };
      else if (r.prevHash !== (prev?.hash ?? GENESIS_HASH)) broken = { seq: r.seq, id: r.id, reason: 'prev_mismatch', message: `record ${r.seq} does not follow ${r.seq - 1}` };
      if (broken) break;
    }
    const last = chain[checked - 1];
    return {
      ok: true,
      result: {
        ok: !broken,
        checked,
        ...(chain.length ? { firstSeq: chain[0]!.seq, lastSeq: last!.seq, lastHash: last!.hash } : {}),
        ...(broken ? { break: broken } : {}),
      },
    };
  });

  return fake;
}
