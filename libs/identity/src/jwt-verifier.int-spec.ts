import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { startOidcIssuer, type OidcIssuerHandle } from '@keelson/testing';
import { JwtVerifier, type JwtVerifierOptions } from './jwt-verifier';
import { AuthError } from './principal';

async function refused(p: Promise<unknown>, reason: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => err instanceof AuthError && err.reason === reason);
}

describe('JwtVerifier against a local OIDC issuer (protocol-faithful: discovery, JWKS, RS256)', () => {
  let idp: OidcIssuerHandle;
  let options: JwtVerifierOptions;

  before(async () => {
    idp = await startOidcIssuer();
    options = { issuer: idp.issuer, audience: 'keelson', clockToleranceSeconds: 60, tenantClaim: 'tenant', scopesClaim: 'scope' };
  });
  after(async () => idp?.stop());

  it('finds the JWKS by discovery and maps a valid token to tenant and scopes', async () => {
    const verifier = new JwtVerifier(options);
    const token = await idp.sign({ sub: 'alice', tenant: 'acme', scope: 'openid tasks audit:read' });
    assert.deepEqual(await verifier.verify(token), { kind: 'jwt', keyId: 'jwt:alice', tenant: 'acme', scopes: ['tasks', 'audit:read'] });
  });

  it('maps IdP groups to scopes, and uses the configured tenant when the token has none', async () => {
    const verifier = new JwtVerifier({ ...options, jwksUrl: idp.jwksUrl, tenant: 'acme', scopesClaim: 'groups', scopeMap: { 'keelson-admins': ['admin', 'audit:read'] } });
    const token = await idp.sign({ sub: 'bob', groups: ['keelson-admins', 'staff', 'invoke'] });
    assert.deepEqual(await verifier.verify(token), { kind: 'jwt', keyId: 'jwt:bob', tenant: 'acme', scopes: ['admin', 'audit:read', 'invoke'] });
  });

  it('accepts a token expired within the clock skew, refuses one beyond it', async () => {
    const verifier = new JwtVerifier(options);
    assert.equal((await verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }, { expiresIn: -30 }))).tenant, 'acme');
    await refused(verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }, { expiresIn: -120 })), 'expired_token');
  });

  it('refuses the wrong audience, the wrong issuer, an unsigned token, a foreign key and a token without tenant', async () => {
    const verifier = new JwtVerifier(options);
    await refused(verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }, { audience: 'other-api' })), 'invalid_token');
    await refused(verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }, { issuer: 'https://evil.example' })), 'invalid_token');
    const [header, payload] = (await idp.sign({ sub: 'a', tenant: 'acme' })).split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none' })).toString('base64url')}.${payload}.`;
    await refused(verifier.verify(none), 'invalid_token');
    await refused(verifier.verify(`${header}.${payload}.AAAA`), 'invalid_token');
    await refused(verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }, { unpublishedKey: true })), 'invalid_token');
    await refused(verifier.verify(await idp.sign({ sub: 'a' })), 'token_not_mapped');
    await refused(verifier.verify(await idp.sign({ sub: 'a', tenant: 'Not A Tenant' })), 'token_not_mapped');
  });

  it('follows a key rotation: a token signed with a new kid makes it fetch the JWKS again', async () => {
    const verifier = new JwtVerifier({ ...options, jwksUrl: idp.jwksUrl, jwksCooldownMs: 0 });
    await verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }));
    const before = idp.jwksFetches();
    await idp.rotate();
    idp.dropOldKeys();
    assert.equal((await verifier.verify(await idp.sign({ sub: 'a', tenant: 'acme' }))).tenant, 'acme');
    assert.ok(idp.jwksFetches() > before, 'the JWKS was fetched again for the new kid');
  });

  it('refuses every token, without leaking it, while the issuer cannot be reached', async () => {
    const verifier = new JwtVerifier({ ...options, issuer: 'http://127.0.0.1:9/nowhere' });
    const token = await idp.sign({ sub: 'a', tenant: 'acme' });
    await assert.rejects(verifier.verify(token), (err: unknown) => err instanceof AuthError && err.reason === 'invalid_token' && !err.message.includes(token));
  });
});
