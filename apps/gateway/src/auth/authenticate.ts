import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import type { ApiKeys, Principal } from './api-keys';

/** Resolves `Authorization: Bearer <api key>` to the caller's tenant, or throws a 401 naming the header. */
export function authenticate(keys: ApiKeys, authorization: string | undefined): Principal {
  if (!authorization) {
    throw new KeelsonError(401, ErrorCodes.unauthorized, 'send Authorization: Bearer <api key>', 'Authorization');
  }
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) {
    throw new KeelsonError(401, ErrorCodes.unauthorized, 'the Authorization header must be "Bearer <api key>"', 'Authorization');
  }
  const principal = keys.verify(match[1]!);
  if (!principal) throw new KeelsonError(401, ErrorCodes.unauthorized, 'unknown API key', 'Authorization');
  return principal;
}
