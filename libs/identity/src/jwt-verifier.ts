import { ALL_SCOPES, TENANT_ID_PATTERN } from '@keelson/contracts';
import { AuthError, type Principal } from './principal';

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });
type Jwks = ReturnType<Jose['createRemoteJWKSet']>;

export interface JwtVerifierOptions {
  /** The OIDC issuer (`iss`), e.g. `https://login.example.com/realms/acme`. */
  issuer: string;
  /** The audience (`aud`) tokens must be for. */
  audience: string;
  /** The JWKS address; default: `jwks_uri` from the issuer's `/.well-known/openid-configuration`. */
  jwksUrl?: string | undefined;
  /** Leeway for `exp`, `nbf` and `iat` between clocks. */
  clockToleranceSeconds: number;
  /** The claim holding the Keelson tenant. */
  tenantClaim: string;
  /** Every token's tenant when the issuer has no tenant claim (one issuer per tenant). */
  tenant?: string | undefined;
  /** The claim holding scopes: a space-separated string (`scope`) or an array (`groups`, `roles`). */
  scopesClaim: string;
  /** IdP values to Keelson scopes, e.g. `{"keelson-admins": ["admin", "audit:read"]}`; Keelson scope names pass as they are. */
  scopeMap?: Record<string, string[]> | undefined;
  /** The least time between two JWKS fetches for unknown `kid`s (a flood of forged kids cannot hammer the issuer); default 30 s. */
  jwksCooldownMs?: number | undefined;
}

/** Asymmetric algorithms only: with `HS256` a public key could be used as an HMAC secret, and `none` is never accepted. */
const ALGORITHMS = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'];
const MAX_SUBJECT = 128;

/**
 * Verifies bearer JWTs from one OIDC issuer against its JWKS (jose: signature, `iss`, `aud`, `exp`/`nbf` with
 * leeway; keys cached and re-fetched when a token names an unknown `kid`, so the issuer can rotate keys), and
 * maps the token to a tenant and scopes by configuration. Errors say what was wrong, never echo the token.
 */
export class JwtVerifier {
  private jwks: Promise<{ jose: Jose; keys: Jwks }> | undefined;

  constructor(
    private readonly options: JwtVerifierOptions,
    private readonly fetchJson: (url: string) => Promise<unknown> = defaultFetchJson,
  ) {}

  async verify(token: string): Promise<Principal> {
    const { jose, keys } = await this.keys();
    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jose.jwtVerify(token, keys, {
        issuer: this.options.issuer,
        audience: this.options.audience,
        clockTolerance: this.options.clockToleranceSeconds,
        algorithms: ALGORITHMS,
        requiredClaims: ['exp', 'sub'],
      }));
    } catch (err) {
      if (err instanceof jose.errors.JWTExpired) throw new AuthError('expired_token', 'the bearer token has expired');
      const why = err instanceof jose.errors.JOSEError ? err.code : 'unreadable';
      throw new AuthError('invalid_token', `the bearer token was refused (${why})`);
    }
    const sub = String(payload.sub);
    if (sub.length > MAX_SUBJECT) throw new AuthError('invalid_token', `the token's sub is longer than ${MAX_SUBJECT} characters`);
    const claimed = payload[this.options.tenantClaim];
    const tenant = typeof claimed === 'string' ? claimed : this.options.tenant;
    if (tenant === undefined || !TENANT_ID_PATTERN.test(tenant)) {
      throw new AuthError('token_not_mapped', `the token has no usable "${this.options.tenantClaim}" claim and no tenant is configured for its issuer`);
    }
    return { kind: 'jwt', keyId: `jwt:${sub}`, tenant, scopes: this.scopesOf(payload[this.options.scopesClaim]) };
  }

  private scopesOf(claim: unknown): string[] {
    const values = typeof claim === 'string' ? claim.split(/\s+/) : Array.isArray(claim) ? claim.filter((v): v is string => typeof v === 'string') : [];
    const known = new Set<string>(ALL_SCOPES);
    const out = new Set<string>();
    for (const value of values) {
      for (const scope of this.options.scopeMap?.[value] ?? [value]) if (known.has(scope) || this.options.scopeMap?.[value]) out.add(scope);
    }
    return [...out];
  }

  private keys(): Promise<{ jose: Jose; keys: Jwks }> {
    this.jwks ??= (async () => {
      const jose = await import('jose');
      const url = this.options.jwksUrl ?? (await this.discoverJwksUrl());
      return { jose, keys: jose.createRemoteJWKSet(new URL(url), { cooldownDuration: this.options.jwksCooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000, timeoutDuration: 5_000 }) };
    })();
    // A failed discovery is retried by the next call, not remembered.
    this.jwks.catch(() => (this.jwks = undefined));
    return this.jwks;
  }

  private async discoverJwksUrl(): Promise<string> {
    const url = `${this.options.issuer.replace(/\/+$/, '')}/.well-known/openid-configuration`;
    const doc = (await this.fetchJson(url).catch((err: Error) => {
      throw new AuthError('invalid_token', `the OIDC issuer's discovery document could not be read (${err.message})`);
    })) as { issuer?: unknown; jwks_uri?: unknown };
    if (doc.issuer !== this.options.issuer || typeof doc.jwks_uri !== 'string') {
      throw new AuthError('invalid_token', `the discovery document at ${url} does not name issuer ${this.options.issuer} and a jwks_uri`);
    }
    return doc.jwks_uri;
  }
}

async function defaultFetchJson(url: string): Promise<unknown> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5_000), headers: { accept: 'application/json' } });
  if (!res.ok) throw new Error(`${url} answered ${res.status}`);
  return res.json();
}
