import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post, UseGuards, UseInterceptors } from '@nestjs/common';
import {
  API_KEY_ID_PATTERN,
  AuditTypes,
  CreateApiKeyRequestSchema,
  ErrorCodes,
  KeelsonError,
  RotateApiKeyRequestSchema,
  Scopes,
  hasScope,
  parseOrThrow,
  type ApiKeyView,
  type CreatedApiKey,
} from '@keelson/contracts';
import { ApiKeyStore, DEFAULT_ROTATION_GRACE_SECONDS, StaticKeys, viewOf, type Principal, type StoredKey } from '@keelson/identity';
import { GatewayAudit } from '../auditing/gateway-audit';
import { RateLimitGuard } from '../cost/rate-limit.guard';
import { AuthGuard, Caller, Tenant } from './auth.guard';
import { KeyRevocations } from './key-revocations';
import { RequireScope } from './scopes';
import { TenantContextInterceptor } from './tenant-context.interceptor';

/**
 * The admin API for the tenant's API keys (scope `admin`): create (the key is shown once), list (never a key
 * or a hash), rotate (a new key; the old one works for a grace period) and revoke. Keys from the mounted file
 * are listed as `source: file` and managed in that file. Every change is an audit event recorded before the
 * answer; when the trail is down the call fails with 503 (a key made meanwhile was never handed out: revoke it).
 */
@Controller('v1/keys')
@UseGuards(AuthGuard, RateLimitGuard)
@RequireScope(Scopes.admin)
@UseInterceptors(TenantContextInterceptor)
export class KeysController {
  constructor(
    @Inject(ApiKeyStore) private readonly store: ApiKeyStore,
    @Inject(StaticKeys) private readonly fileKeys: StaticKeys,
    @Inject(KeyRevocations) private readonly revocations: KeyRevocations,
    @Inject(GatewayAudit) private readonly audit: GatewayAudit,
  ) {}

  @Get()
  async list(@Tenant() tenant: string): Promise<{ keys: ApiKeyView[] }> {
    const fromFile: ApiKeyView[] = this.fileKeys
      .entries()
      .filter((e) => e.tenant === tenant)
      .map((e) => ({ id: e.id, tenant, name: e.id, scopes: e.scopes, source: 'file', status: 'active' }));
    return { keys: [...fromFile, ...(await this.store.list(tenant)).map((k) => viewOf(k))] };
  }

  @Post()
  @HttpCode(201)
  async create(@Caller() caller: Principal, @Body() body: unknown): Promise<CreatedApiKey> {
    const request = parseOrThrow(CreateApiKeyRequestSchema, body);
    if (request.expiresAt && Date.parse(request.expiresAt) <= Date.now()) {
      throw new KeelsonError(400, ErrorCodes.validationFailed, 'expiresAt: must be in the future', 'expiresAt');
    }
    const beyond = request.scopes.filter((s) => !hasScope(caller.scopes, s));
    if (beyond.length > 0) {
      throw new KeelsonError(403, ErrorCodes.forbidden, `scopes: a key cannot grant what the caller does not hold (${beyond.join(', ')})`, 'scopes');
    }
    const { key, token } = await this.store.create(caller.tenant, request, caller.keyId);
    await this.audit.required({ tenant: caller.tenant, type: AuditTypes.adminKeyCreated, apiKeyId: caller.keyId, data: summary(key) });
    return { ...viewOf(key), key: token };
  }

  @Post(':keyId/rotate')
  @HttpCode(201)
  async rotate(@Caller() caller: Principal, @Param('keyId') keyId: string, @Body() body: unknown): Promise<CreatedApiKey & { previous: ApiKeyView }> {
    const { graceSeconds = DEFAULT_ROTATION_GRACE_SECONDS } = parseOrThrow(RotateApiKeyRequestSchema, body ?? {});
    const old = await this.require(caller.tenant, keyId);
    if (old.revokedAt) throw new KeelsonError(409, ErrorCodes.keyNotChangeable, `key ${keyId} is revoked; create a new one`, 'keyId');
    const rotated = await this.store.rotate(old, graceSeconds, caller.keyId);
    if (graceSeconds === 0) await this.revocations.announce(old.id);
    await this.audit.required({
      tenant: caller.tenant,
      type: AuditTypes.adminKeyRotated,
      apiKeyId: caller.keyId,
      data: { ...summary(rotated.key), previous: old.id, previousExpiresAt: rotated.old.expiresAt },
    });
    return { ...viewOf(rotated.key), key: rotated.token, previous: viewOf(rotated.old) };
  }

  @Delete(':keyId')
  @HttpCode(200)
  async revoke(@Caller() caller: Principal, @Param('keyId') keyId: string): Promise<ApiKeyView> {
    const key = await this.require(caller.tenant, keyId);
    const revoked = await this.store.revoke(key, caller.keyId);
    await this.revocations.announce(key.id);
    if (revoked !== key) await this.audit.required({ tenant: caller.tenant, type: AuditTypes.adminKeyRevoked, apiKeyId: caller.keyId, data: summary(revoked) });
    return viewOf(revoked);
  }

  /** The tenant's key: another tenant's key id is as unknown as one that never existed (404, not 403). */
  private async require(tenant: string, keyId: string): Promise<StoredKey> {
    if (!API_KEY_ID_PATTERN.test(keyId)) {
      const inFile = this.fileKeys.entries().some((e) => e.id === keyId && e.tenant === tenant);
      if (inFile) throw new KeelsonError(409, ErrorCodes.keyNotChangeable, `key ${keyId} comes from the mounted keys file; change it there`, 'keyId');
      throw new KeelsonError(404, ErrorCodes.notFound, `no API key "${keyId}"`, 'keyId');
    }
    const key = await this.store.ofTenant(tenant, keyId);
    if (!key) throw new KeelsonError(404, ErrorCodes.notFound, `no API key "${keyId}"`, 'keyId');
    return key;
  }
}

/** What the audit event says about a key: never the key, never its hash. */
function summary(key: StoredKey): Record<string, unknown> {
  return { keyId: key.id, name: key.name, scopes: key.scopes, ...(key.expiresAt ? { expiresAt: key.expiresAt } : {}), ...(key.revokedAt ? { revokedAt: key.revokedAt } : {}) };
}
