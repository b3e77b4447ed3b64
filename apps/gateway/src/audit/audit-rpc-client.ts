import { Inject, Injectable, Optional } from '@nestjs/common';
import {
  AuditQuerySchema,
  AuditSubjects,
  AuditVerifyRangeSchema,
  ErrorCodes,
  KeelsonError,
  MAX_AUDIT_PAGE,
  parseOrThrow,
  type AuditQuery,
  type AuditQueryRpcReply,
  type AuditQueryRpcRequest,
  type AuditRecord,
  type AuditVerifyResult,
  type AuditVerifyRpcReply,
  type ErrorCode,
} from '@keelson/contracts';
import { NoRespondersError, RequestTimeoutError, request } from '@keelson/messaging';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';

/** How long the gateway waits for one audit-service reply (one page, or one verification). */
export const AUDIT_RPC_TIMEOUT_MS = 10_000;
/** Overrides AUDIT_RPC_TIMEOUT_MS (tests). */
export const AUDIT_RPC_TIMEOUT = Symbol('AUDIT_RPC_TIMEOUT');

/** The filters of `GET /v1/audit/events` without paging: what `GET /v1/audit/export` takes. */
export const AuditExportFilterSchema = AuditQuerySchema.omit({ cursor: true, limit: true });
export type AuditExportFilter = Omit<AuditQuery, 'cursor' | 'limit'>;

export interface AuditPage {
  events: AuditRecord[];
  nextCursor?: string;
}

type ErrorHalf = { ok: false; status: number; code: string; message: string; field?: string };

/** ISO 8601 as people write it: a date (midnight UTC), or a date-time with minutes or seconds and `Z` or an offset. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

/**
 * Turns a query string into the object the contract schema checks: an empty parameter counts as absent, a
 * repeated one is refused (400 naming it), and `from`/`to` in any ISO 8601 form above become UTC
 * (`2026-11-27T00:00:00.000Z`), so audit-service compares like with like. Anything else is left for the schema
 * to refuse.
 */
export function normalizeQuery(query: Record<string, unknown> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(query ?? {})) {
    if (value === undefined || value === '') continue;
    if (typeof value !== 'string') throw new KeelsonError(400, ErrorCodes.validationFailed, `${name}: give it once`, name);
    if ((name === 'from' || name === 'to') && ISO_8601.test(value)) {
      const ms = Date.parse(value);
      out[name] = Number.isFinite(ms) ? new Date(ms).toISOString() : value;
    } else {
      out[name] = value;
    }
  }
  return out;
}

/** `from` is inclusive and `to` exclusive, so `to` at or before `from` can match nothing: refused, naming `to`. */
function inOrder<T extends { from?: string; to?: string }>(q: T): T {
  if (q.from !== undefined && q.to !== undefined && Date.parse(q.to) <= Date.parse(q.from)) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, 'to: must be later than from', 'to');
  }
  return q;
}

/**
 * The gateway's side of the audit RPCs (answered by audit-service, queue group keelson-audit): validates the
 * query string with the contract schemas (400 naming the parameter before anything is sent; unknown ones,
 * `tenant` among them, are refused), adds the caller's tenant, and turns every failure into a KeelsonError:
 * 503 `unavailable` when nobody answers or the answer does not come in time, or audit-service's own error reply
 * (status, code, message, field) as it is.
 */
@Injectable()
export class AuditRpcClient {
  private readonly timeoutMs: number;

  constructor(
    @Inject(NATS_CONNECTION) private readonly nats: NatsConnection,
    @Optional() @Inject(AUDIT_RPC_TIMEOUT) timeoutMs?: number,
  ) {
    this.timeoutMs = timeoutMs ?? AUDIT_RPC_TIMEOUT_MS;
  }

  private async call<R extends { ok: boolean }>(subject: string, body: unknown): Promise<Exclude<R, ErrorHalf>> {
    let reply: R;
    try {
      reply = await request<R>(this.nats, subject, body, { timeoutMs: this.timeoutMs });
    } catch (err) {
      if (err instanceof NoRespondersError) throw new KeelsonError(503, ErrorCodes.unavailable, 'audit-service is not running; try again shortly');
      if (err instanceof RequestTimeoutError) {
        throw new KeelsonError(503, ErrorCodes.unavailable, `audit-service did not answer within ${this.timeoutMs} ms; try again shortly`);
      }
      throw err;
    }
    if (!reply || typeof reply !== 'object') throw new KeelsonError(500, ErrorCodes.internal, 'audit-service sent a reply that is not an object');
    if (!reply.ok) {
      const e = reply as unknown as ErrorHalf;
      throw new KeelsonError(e.status, e.code as ErrorCode, e.message, e.field);
    }
    return reply as Exclude<R, ErrorHalf>;
  }

  /** `GET /v1/audit/events`: one page of the tenant's records matching the filters. */
  async events(tenant: string, rawQuery: Record<string, unknown> | undefined): Promise<AuditPage> {
    return this.page(tenant, inOrder(parseOrThrow(AuditQuerySchema, normalizeQuery(rawQuery))));
  }

  /** One page of an already validated query. */
  async page(tenant: string, query: AuditQuery): Promise<AuditPage> {
    const body: AuditQueryRpcRequest = { ...query, tenant };
    const reply = await this.call<AuditQueryRpcReply>(AuditSubjects.queryRpc, body);
    if (!Array.isArray(reply.events)) throw new KeelsonError(500, ErrorCodes.internal, 'audit-service sent a query reply without events');
    return { events: reply.events, ...(reply.nextCursor ? { nextCursor: reply.nextCursor } : {}) };
  }

  /** The filters of `GET /v1/audit/export`, validated (cursor and limit are refused: the export pages itself). */
  exportFilter(rawQuery: Record<string, unknown> | undefined): AuditExportFilter {
    return inOrder(parseOrThrow(AuditExportFilterSchema, normalizeQuery(rawQuery)));
  }

  /** The first page of an export, then each following one, `MAX_AUDIT_PAGE` records at a time. */
  exportPage(tenant: string, filter: AuditExportFilter, cursor?: string): Promise<AuditPage> {
    return this.page(tenant, { ...filter, limit: MAX_AUDIT_PAGE, ...(cursor ? { cursor } : {}) });
  }

  /** `GET /v1/audit/verify`: walks the tenant's chain over the range and reports the first break. */
  async verify(tenant: string, rawQuery: Record<string, unknown> | undefined): Promise<AuditVerifyResult> {
    const range = inOrder(parseOrThrow(AuditVerifyRangeSchema, normalizeQuery(rawQuery)));
    if (range.fromSeq !== undefined && range.toSeq !== undefined && range.toSeq < range.fromSeq) {
      throw new KeelsonError(400, ErrorCodes.validationFailed, 'toSeq: must not be smaller than fromSeq', 'toSeq');
    }
    return (await this.call<AuditVerifyRpcReply>(AuditSubjects.verifyRpc, { ...range, tenant })).result;
  }
}
