import type { Provider } from '@nestjs/common';
import { ApiKeyStore, Authenticator, StaticKeys, jwtVerifierFromSettings } from '@keelson/identity';
import { REDIS_CLIENT, type RedisClient } from '@keelson/nest-kit';
import { GatewayAudit } from '../auditing/gateway-audit';
import type { GatewayConfig } from '../config';
import { AuthGuard } from './auth.guard';
import { DenialLog } from './denial-log';
import { KeyRevocations } from './key-revocations';

/** Authentication for the gateway's routes and its WebSocket: the keys file, keys in Redis, OIDC tokens. */
export function authProviders(config: GatewayConfig, staticKeys: StaticKeys): Provider[] {
  return [
    { provide: StaticKeys, useValue: staticKeys },
    { provide: ApiKeyStore, inject: [REDIS_CLIENT], useFactory: (redis: RedisClient) => new ApiKeyStore(redis) },
    {
      provide: Authenticator,
      inject: [ApiKeyStore],
      useFactory: (store: ApiKeyStore) => new Authenticator({ staticKeys, store, jwt: jwtVerifierFromSettings(config) }, { cacheMs: config.AUTH_CACHE_MS }),
    },
    { provide: DenialLog, inject: [GatewayAudit], useFactory: (audit: GatewayAudit) => new DenialLog(audit) },
    AuthGuard,
    KeyRevocations,
  ];
}
