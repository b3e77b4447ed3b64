import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

type Jose = typeof import('jose', { with: { 'resolution-mode': 'import' } });

export interface SignOptions {
  /** Seconds from now; negative for an already expired token. Default 300. */
  expiresIn?: number;
  audience?: string;
  issuer?: string;
  /** Sign with a key the JWKS does not (yet) publish. */
  unpublishedKey?: boolean;
}

export interface OidcIssuerHandle {
  /** The issuer (`iss`), also the base of `/.well-known/openid-configuration`. */
  issuer: string;
  jwksUrl: string;
  /** A signed RS256 JWT with `iss`, `aud` (default `keelson`), `iat`, `exp` and the given claims. */
  sign(claims: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** A new signing key: published in the JWKS next to the old one, and used from now on. */
  rotate(): Promise<void>;
  /** Stops publishing every key but the current one. */
  dropOldKeys(): void;
  /** How many times the JWKS was fetched. */
  jwksFetches(): number;
  stop(): Promise<void>;
}

interface Key {
  kid: string;
  privateKey: Awaited<ReturnType<Jose['generateKeyPair']>>['privateKey'];
  jwk: Record<string, unknown>;
}

/**
 * A protocol-faithful stand-in for an OIDC issuer (Keycloak, Auth0, Entra ID...): it serves the discovery
 * document and a JWKS over real HTTP on a free loopback port, and signs real RS256 tokens with jose. Only
 * the parts a resource server uses; no login flows.
 */
export async function startOidcIssuer(): Promise<OidcIssuerHandle> {
  const jose: Jose = await import('jose');
  let n = 0;
  const newKey = async (): Promise<Key> => {
    const { privateKey, publicKey } = await jose.generateKeyPair('RS256', { extractable: true });
    const kid = `key-${++n}`;
    return { kid, privateKey, jwk: { ...(await jose.exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
  };
  let current = await newKey();
  let published: Key[] = [current];
  let fetches = 0;
  let issuer = '';

  const server = createServer((req, res) => {
    const send = (body: unknown) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.url === '/.well-known/openid-configuration') return send({ issuer, jwks_uri: `${issuer}/jwks`, id_token_signing_alg_values_supported: ['RS256'] });
    if (req.url === '/jwks') {
      fetches++;
      return send({ keys: published.map((k) => k.jwk) });
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    issuer,
    jwksUrl: `${issuer}/jwks`,
    async sign(claims, options = {}) {
      const key = options.unpublishedKey ? await newKey() : current;
      const now = Math.floor(Date.now() / 1000);
      return new jose.SignJWT(claims)
        .setProtectedHeader({ alg: 'RS256', kid: key.kid })
        .setIssuer(options.issuer ?? issuer)
        .setAudience(options.audience ?? 'keelson')
        .setIssuedAt(now)
        .setExpirationTime(now + (options.expiresIn ?? 300))
        .sign(key.privateKey);
    },
    async rotate() {
      current = await newKey();
      published = [...published, current];
    },
    dropOldKeys() {
      published = [current];
    },
    jwksFetches: () => fetches,
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
