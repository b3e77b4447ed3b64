import type { Provider } from '@nestjs/common';
import { ApiKeyStore, Authenticator, JwtVerifier, StaticKeys } from '@keelson/identity';
import { REDIS_CLIENT, type RedisClient } from '@keelson/nest-kit';
import { GatewayAudit } from '../auditing/gateway-audit';
import type { GatewayConfig } from '../config';
import { AuthGuard } from './auth.guard';
import { DenialLog } from './denial-log';
import { KeyRevocations } from './key-revocations';

/** A verifier for the configured OIDC issuer, or undefined when OIDC is off (API keys only). */
export function jwtVerifierFrom(config: GatewayConfig): JwtVerifier | undefined {
  if (!config.OIDC_ISSUER || !config.OIDC_AUDIENCE) return undefined;
  return new JwtVerifier({
    issuer: config.OIDC_ISSUER,
    audience: config.OIDC_AUDIENCE,
    jwksUrl: config.OIDC_JWKS_URL,
    clockToleranceSeconds: config.OIDC_CLOCK_SKEW_SECONDS,
    tenantClaim: config.OIDC_TENANT_CLAIM,
    tenant: config.OIDC_TENANT,
    scopesClaim: config.OIDC_SCOPES_CLAIM,
    scopeMap: config.OIDC_SCOPE_MAP,
  });
}

/** Authentication for the gateway's routes and its WebSocket: the keys file, keys in Redis, OIDC tokens. */
export function authProviders(config: GatewayConfig, staticKeys: StaticKeys): Provider[] {
  return [
    { provide: StaticKeys, useValue: staticKeys },
    { provide: ApiKeyStore, inject: [REDIS_CLIENT], useFactory: (redis: RedisClient) => new ApiKeyStore(redis) },
    {
      provide: Authenticator,
      inject: [ApiKeyStore],
      useFactory: (store: ApiKeyStore) => new Authenticator({ staticKeys, store, jwt: jwtVerifierFrom(config) }, { cacheMs: config.AUTH_CACHE_MS }),
    },
    { provide: DenialLog, inject: [GatewayAudit], useFactory: (audit: GatewayAudit) => new DenialLog(audit) },
    AuthGuard,
    KeyRevocations,
  ];
}
