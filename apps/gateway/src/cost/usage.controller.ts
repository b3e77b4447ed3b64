import { Controller, Get, Inject, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuthGuard, Tenant } from '../auth/auth.guard';
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
@UseInterceptors(TenantContextInterceptor)
export class UsageController {
  constructor(@Inject(UsageReader) private readonly reader: UsageReader) {}

  @Get()
  async usage(@Tenant() tenant: string, @Query() query: Record<string, unknown>): Promise<UsagePage> {
    return this.reader.read(tenant, parseUsageQuery(query ?? {}));
  }
}
