import type { Provider } from '@nestjs/common';
import { Authenticator, StaticKeys } from '@keelson/identity';
import { GatewayAudit } from '../auditing/gateway-audit';
import { AuthGuard } from '../auth/auth.guard';
import { DenialLog } from '../auth/denial-log';

/** AuthGuard and what it needs, over a keys file only (no Redis keys, no OIDC), for int tests of route groups. */
export function testAuthProviders(keysFile: string): Provider[] {
  const staticKeys = StaticKeys.fromFile(keysFile);
  return [
    { provide: StaticKeys, useValue: staticKeys },
    { provide: Authenticator, useValue: new Authenticator({ staticKeys }) },
    { provide: DenialLog, inject: [GatewayAudit], useFactory: (audit: GatewayAudit) => new DenialLog(audit) },
    AuthGuard,
    GatewayAudit,
  ];
}
