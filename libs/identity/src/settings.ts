import { ConfigError, integer, jsonSetting } from '@keelson/config';
import { ScopeSchema, TENANT_ID_PATTERN } from '@keelson/contracts';
import { z } from 'zod';
import { JwtVerifier } from './jwt-verifier';

/** The settings of whatever authenticates callers (the gateway, the serverless function): docs/security.md. */
export const identitySettings = {
  /** How long a verified key or token is trusted before Redis is asked again: the most a revocation can lag on a replica that missed its broadcast. */
  AUTH_CACHE_MS: integer(5_000, 0, 60_000),
  /** Bearer JWTs from this OIDC issuer are accepted besides API keys; unset: API keys only. */
  OIDC_ISSUER: z.string().url().optional(),
  OIDC_AUDIENCE: z.string().min(1).optional(),
  /** Default: `jwks_uri` of the issuer's discovery document. */
  OIDC_JWKS_URL: z.string().url().optional(),
  OIDC_CLOCK_SKEW_SECONDS: integer(60, 0, 600),
  OIDC_TENANT_CLAIM: z.string().min(1).default('keelson_tenant'),
  /** Every token's tenant when the issuer puts none in a claim (one issuer per tenant). */
  OIDC_TENANT: z.string().regex(TENANT_ID_PATTERN).optional(),
  OIDC_SCOPES_CLAIM: z.string().min(1).default('scope'),
  /** IdP values (scopes, groups, roles) to Keelson scopes, JSON, e.g. `{"keelson-admins":["admin","audit:read"]}`. */
  OIDC_SCOPE_MAP: jsonSetting(z.record(z.string(), z.array(ScopeSchema)), '{"keelson-admins":["admin","audit:read"]}').optional(),
};

export type IdentitySettings = z.infer<z.ZodObject<typeof identitySettings>>;

/** OIDC needs an issuer and an audience together: one without the other is a configuration mistake, not "off". */
export function checkOidcSettings<T extends IdentitySettings>(config: T): T {
  if ((config.OIDC_ISSUER === undefined) !== (config.OIDC_AUDIENCE === undefined)) {
    const missing = config.OIDC_ISSUER ? 'OIDC_AUDIENCE' : 'OIDC_ISSUER';
    throw new ConfigError([{ name: missing, reason: 'required when the other OIDC setting is set: OIDC_ISSUER and OIDC_AUDIENCE go together' }]);
  }
  return config;
}

/** A verifier for the configured OIDC issuer, or undefined when OIDC is off (API keys only). */
export function jwtVerifierFromSettings(config: IdentitySettings): JwtVerifier | undefined {
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
