import { keyStatus, type ApiKeyStore } from './api-key-store';
import { parseKey, secretMatches } from './key-secret';
import { sha256Hex, type StaticKeys } from './static-keys';
import type { JwtVerifier } from './jwt-verifier';
import { AuthError, type Principal } from './principal';

export interface AuthenticatorOptions {
  /** How long a verified credential is trusted without asking Redis again: the most a revocation can lag. */
  cacheMs?: number;
  /** Entries the cache holds; the oldest go first. */
  cacheSize?: number;
}

interface Cached {
  principal: Principal;
  until: number;
}

const BEARER = /^Bearer\s+(\S+)\s*$/i;
const LOOKS_LIKE_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/;

/**
 * `Authorization: Bearer ...` to a Principal: an API key from the mounted file, an API key made through the
 * admin API (Redis), or a JWT from the configured OIDC issuer. Verified credentials are cached for `cacheMs`
 * (default 5 s) by the SHA-256 of what was presented, so a busy key costs one Redis read per 5 s per replica,
 * and a revoked or expired key stops working within that time. Failures are AuthError with a reason.
 */
export class Authenticator {
  private readonly cache = new Map<string, Cached>();
  private readonly cacheMs: number;
  private readonly cacheSize: number;

  constructor(
    private readonly sources: { staticKeys: StaticKeys; store?: ApiKeyStore | undefined; jwt?: JwtVerifier | undefined },
    options: AuthenticatorOptions = {},
  ) {
    this.cacheMs = options.cacheMs ?? 5_000;
    this.cacheSize = options.cacheSize ?? 10_000;
  }

  async authenticate(authorization: string | undefined, now = Date.now()): Promise<Principal> {
    if (!authorization) throw new AuthError('missing_credentials', 'send Authorization: Bearer <api key or token>');
    const match = BEARER.exec(authorization);
    if (!match) throw new AuthError('malformed_credentials', 'the Authorization header must be "Bearer <api key or token>"');
    const presented = match[1]!;
    const id = sha256Hex(presented);
    const hit = this.cache.get(id);
    if (hit && hit.until > now) return hit.principal;
    if (hit) this.cache.delete(id);

    const { principal, until } = await this.verify(presented, now);
    if (this.cache.size >= this.cacheSize) this.cache.delete(this.cache.keys().next().value!);
    this.cache.set(id, { principal, until: Math.min(until, now + this.cacheMs) });
    return principal;
  }

  /** Forgets every cached credential of a key (this replica): a revocation here applies at once. */
  forget(keyId: string): void {
    for (const [id, cached] of this.cache) if (cached.principal.keyId === keyId) this.cache.delete(id);
  }

  private async verify(presented: string, now: number): Promise<{ principal: Principal; until: number }> {
    const fromFile = this.sources.staticKeys.verify(presented);
    if (fromFile) return { principal: fromFile, until: Infinity };

    const parsed = parseKey(presented);
    if (parsed && this.sources.store) {
      const key = await this.sources.store.get(parsed.keyId);
      if (!key || !secretMatches(parsed.secret, key)) throw new AuthError('unknown_key', 'unknown API key');
      const known = { keyId: key.id, tenant: key.tenant };
      const status = keyStatus(key, now);
      if (status === 'revoked') throw new AuthError('revoked_key', `API key ${key.id} was revoked`, known);
      if (status === 'expired') throw new AuthError('expired_key', `API key ${key.id} expired at ${key.expiresAt}`, known);
      return { principal: { kind: 'api_key', keyId: key.id, tenant: key.tenant, scopes: key.scopes }, until: key.expiresAt ? Date.parse(key.expiresAt) : Infinity };
    }

    if (this.sources.jwt && LOOKS_LIKE_JWT.test(presented)) {
      const principal = await this.sources.jwt.verify(presented);
      const exp = decodeExp(presented);
      return { principal, until: exp ?? now };
    }
    throw new AuthError('unknown_key', 'unknown API key');
  }
}

/** `exp` of a token jose has already verified, in ms; the cache must never outlive the token. */
function decodeExp(token: string): number | undefined {
  try {
    const payload = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as { exp?: unknown };
    return typeof payload.exp === 'number' ? payload.exp * 1000 : undefined;
  } catch {
    return undefined;
  }
}
