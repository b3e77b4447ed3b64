import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, Query, UseGuards, UseInterceptors } from '@nestjs/common';
import { AuditTypes, KeelsonError, MemoryErrorCodes, type ErrorCode, type MemoryView, Scopes } from '@keelson/contracts';
import { ApiKeyId, AuthGuard, Tenant } from '../auth/auth.guard';
import { RequireScope } from '../auth/scopes';
import { GatewayAudit } from '../auditing/gateway-audit';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { TenantContextInterceptor } from '../auth/tenant-context.interceptor';
import { MemoryRpcClient } from './memory-rpc-client';

/**
 * Long-term memory over HTTP, answered by memory-service over NATS. The tenant is always the
 * authenticated caller's; an id of another tenant is answered like an unknown one (404).
 */
@Controller('v1/memories')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.memory)
@UseInterceptors(TenantContextInterceptor)
export class MemoriesController {
  constructor(
    @Inject(MemoryRpcClient) private readonly memory: MemoryRpcClient,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  /** `{namespace, text, metadata?, ttlSeconds?, id?}` -> 201 `{id}`. With `id`, a retry replaces instead of adding. */
  @Post()
  @HttpCode(201)
  async create(@Tenant() tenant: string, @Body() body: unknown): Promise<{ id: string }> {
    return { id: await this.memory.create(tenant, body) };
  }

  /** `{query, namespace?, topK?, filter?, minScore?}` -> `{results: [{id, text, score, metadata}]}`, best first. */
  @Post('search')
  @HttpCode(200)
  search(@Tenant() tenant: string, @Body() body: unknown): ReturnType<MemoryRpcClient['search']> {
    return this.memory.search(tenant, body);
  }

  /** The namespaces holding this tenant's memories, with counts. */
  @Get('namespaces')
  async namespaces(@Tenant() tenant: string): Promise<{ namespaces: { kind: string; namespace: string; count: number }[] }> {
    const reply = await this.memory.namespaces(tenant);
    return { namespaces: reply.ok ? reply.namespaces : [] };
  }

  @Get(':id')
  get(@Tenant() tenant: string, @Param('id') id: string): Promise<MemoryView> {
    return this.memory.get(tenant, id);
  }

  @Delete(':id')
  @HttpCode(204)
  async delete(@Tenant() tenant: string, @Param('id') id: string): Promise<void> {
    if ((await this.memory.delete(tenant, id)) === 0) {
      throw new KeelsonError(404, MemoryErrorCodes.memoryNotFound as unknown as ErrorCode, `no memory "${id}"`, 'id');
    }
  }

  /** Right to erasure: `DELETE /v1/memories?userId=...` removes every memory of that user -> `{deleted}`. */
  @Delete()
  @HttpCode(200)
  async erase(@Tenant() tenant: string, @ApiKeyId() apiKeyId: string, @Query('userId') userId: string | undefined): Promise<{ deleted: number }> {
    const deleted = await this.memory.erase(tenant, userId);
    await this.audit.required({ tenant, type: AuditTypes.adminMemoryErased, apiKeyId, data: { userId, deleted } });
    return { deleted };
  }
}
