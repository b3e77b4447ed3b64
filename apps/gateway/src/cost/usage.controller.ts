import { Scopes } from '@keelson/contracts';
import { Controller, Get, Inject, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { RoutingTally, type RoutingCounts } from '@keelson/cost';
import { AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { RateLimitGuard } from './rate-limit.guard';
import { parseUsageQuery } from './usage-query';
import { UsageReader, type UsagePage } from './usage-reader';

/**
 * `GET /v1/usage?agent=&key=&from=&to=&cursor=&limit=`: the tenant's usage records from KEELSON_USAGE, in
 * stream order, with totals over the same records (overall, per model, per agent). A page ends at `to`, at
 * the end of the stream, or after `limit` records (then `truncated: true` and `nextCursor`, passed back as
 * `cursor` with the same filters, continues where it stopped).
 */
@Controller('v1/usage')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.admin)
@UseInterceptors(TenantContextInterceptor)
export class UsageController {
  constructor(
    @Inject(UsageReader) private readonly reader: UsageReader,
    @Inject(RoutingTally) private readonly tally: Pick<RoutingTally, 'read'>,
  ) {}

  /** Also `routing`: the tenant's routing decisions counted by tier and reason over the UTC days of `from`-`to` (default the last 31). */
  @Get()
  async usage(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<UsagePage & { routing: RoutingCounts }> {
    const parsed = parseUsageQuery(query ?? {});
    const to = parsed.to ?? new Date();
    const from = parsed.from ?? new Date(to.getTime() - 30 * 24 * 3600_000);
    const [page, routing] = await Promise.all([this.reader.read(tenant, parsed), this.tally.read(tenant, from, to)]);
    return { ...page, routing };
  }
}
