import { Controller, Get, Inject, Query, Res, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuditTypes, ErrorCodes, KeelsonError, MAX_AUDIT_PAGE, Scopes, type AuditRecord } from '@keelson/contracts';
import { ApiKeyStore, StaticKeys } from '@keelson/identity';
import type { FastifyReply } from 'fastify';
import { AuditRpcClient } from '../audit/audit-rpc-client';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { accessReviewCsv, buildAccessReview, type AccessReview } from './access-review';
import { AuthGuard, Tenant } from './auth.guard';
import { RequireScope } from './scopes';
import { TenantContextInterceptor } from './tenant-context.interceptor';

const DAY = 24 * 3_600_000;
const MAX_RANGE_MS = 31 * DAY;
/** Audit records one review reads per kind; a longer range is `truncated`. */
const MAX_RECORDS = 20_000;

/**
 * `GET /v1/access-review?from=&to=&format=json|csv` (scope `admin`): who accessed what in the tenant over the
 * range (default the last 24 hours, at most 31 days), built from the audit trail. See access-review.ts.
 */
@Controller('v1/access-review')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.admin)
@UseInterceptors(TenantContextInterceptor)
export class AccessReviewController {
  constructor(
    @Inject(AuditRpcClient) private readonly audit: AuditRpcClient,
    @Inject(ApiKeyStore) private readonly store: ApiKeyStore,
    @Inject(StaticKeys) private readonly fileKeys: StaticKeys,
  ) {}

  @Get()
  async review(@Tenant() tenant: string, @Query() query: Record<string, unknown>, @Res({ passthrough: true }) reply: FastifyReply): Promise<AccessReview | string> {
    const { from, to, format } = parseReviewQuery(query ?? {});
    const span = to.getTime() - from.getTime();
    const [auth, admin, before, stored] = await Promise.all([
      this.read(tenant, 'auth', from, to),
      this.read(tenant, 'admin', from, to),
      this.read(tenant, AuditTypes.authAccess, new Date(from.getTime() - span), from),
      this.store.list(tenant),
    ]);
    const keys = [
      ...this.fileKeys.entries().filter((k) => k.tenant === tenant).map((k) => ({ id: k.id, name: k.id, status: 'active', source: 'file' })),
      ...stored.map((k) => ({ id: k.id, name: k.name, status: k.revokedAt ? 'revoked' : k.expiresAt && Date.parse(k.expiresAt) <= Date.now() ? 'expired' : 'active', source: 'api' })),
    ];
    const review = buildAccessReview({
      tenant,
      from,
      to,
      events: [...auth.records, ...admin.records.filter((r) => r.type.startsWith('admin.key_'))],
      before: before.records,
      keys,
      truncated: auth.truncated || admin.truncated || before.truncated,
    });
    if (format === 'json') return review;
    void reply.header('content-type', 'text/csv; charset=utf-8').header('content-disposition', `attachment; filename="access-review-${tenant}.csv"`);
    return accessReviewCsv(review);
  }

  private async read(tenant: string, type: string, from: Date, to: Date): Promise<{ records: AuditRecord[]; truncated: boolean }> {
    const records: AuditRecord[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.audit.page(tenant, { type, from: from.toISOString(), to: to.toISOString(), limit: MAX_AUDIT_PAGE, ...(cursor ? { cursor } : {}) });
      records.push(...(page.events as AuditRecord[]));
      cursor = page.nextCursor;
    } while (cursor && records.length < MAX_RECORDS);
    return { records, truncated: cursor !== undefined };
  }
}

export function parseReviewQuery(query: Record<string, unknown>, now = new Date()): { from: Date; to: Date; format: 'json' | 'csv' } {
  for (const name of Object.keys(query)) {
    if (!['from', 'to', 'format'].includes(name)) throw bad(name, 'unknown parameter; expected from, to or format');
  }
  const time = (name: string): Date | undefined => {
    const raw = query[name];
    if (raw === undefined || raw === '') return undefined;
    const t = typeof raw === 'string' ? Date.parse(raw) : NaN;
    if (Number.isNaN(t)) throw bad(name, 'expected an ISO 8601 date or date-time');
    return new Date(t);
  };
  const to = time('to') ?? now;
  const from = time('from') ?? new Date(to.getTime() - DAY);
  if (to <= from) throw bad('to', 'must be later than from');
  if (to.getTime() - from.getTime() > MAX_RANGE_MS) throw bad('from', 'a review covers at most 31 days; narrow the range');
  const format = query['format'] ?? 'json';
  if (format !== 'json' && format !== 'csv') throw bad('format', 'expected json or csv');
  return { from, to, format };
}

const bad = (field: string, why: string) => new KeelsonError(400, ErrorCodes.validationFailed, `${field}: ${why}`, field);
