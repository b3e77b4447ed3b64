import { z } from 'zod';
import { TENANT_ID_PATTERN } from './ids';

/**
 * Who may call what: the scopes an API key or a token carries, the admin API for keys (`/v1/keys`) and the
 * access review built from the audit trail. `*` is every scope.
 */
export const Scopes = {
  invoke: 'invoke',
  sessions: 'sessions',
  tasks: 'tasks',
  memory: 'memory',
  auditRead: 'audit:read',
  admin: 'admin',
  opsRead: 'ops:read',
  guardReveal: 'guard:reveal',
} as const;
export type Scope = (typeof Scopes)[keyof typeof Scopes];
export const ALL_SCOPES: readonly Scope[] = Object.values(Scopes);
export const ANY_SCOPE = '*';

export const ScopeSchema = z.enum([ANY_SCOPE, ...ALL_SCOPES] as [string, ...string[]], {
  error: `expected one of ${[ANY_SCOPE, ...ALL_SCOPES].join(', ')}`,
});

/** True when `held` (a key's or token's scopes) grants `needed`. */
export const hasScope = (held: readonly string[], needed: string): boolean => held.includes(ANY_SCOPE) || held.includes(needed);

/** Key ids of keys made through the API: `key` and 16 hex digits. The key itself is `ks_{keyId}.{secret}`. */
export const API_KEY_ID_PATTERN = /^key[0-9a-f]{16}$/;

export const CreateApiKeyRequestSchema = z
  .object({
    /** A label for people: who or what uses the key. */
    name: z.string().trim().min(1).max(100),
    scopes: z.array(ScopeSchema).min(1).max(ALL_SCOPES.length + 1),
    /** When the key stops working, ISO 8601 UTC; absent means until revoked. */
    expiresAt: z.iso.datetime().optional(),
  })
  .strict();
export type CreateApiKeyRequest = z.infer<typeof CreateApiKeyRequestSchema>;

export const RotateApiKeyRequestSchema = z
  .object({
    /** How long the old key keeps working beside the new one; default 3600, 0 ends it at once. */
    graceSeconds: z.number().int().min(0).max(30 * 24 * 3600).optional(),
  })
  .strict();

/** A key as the admin API shows it: never the key, never its hash. */
export const ApiKeyViewSchema = z.object({
  id: z.string(),
  tenant: z.string().regex(TENANT_ID_PATTERN),
  name: z.string(),
  scopes: z.array(z.string()),
  /** `api` for keys made through /v1/keys; `file` for keys from KEELSON_API_KEYS_FILE (read-only here). */
  source: z.enum(['api', 'file']),
  createdAt: z.iso.datetime().optional(),
  createdBy: z.string().optional(),
  expiresAt: z.iso.datetime().optional(),
  revokedAt: z.iso.datetime().optional(),
  /** The key made by rotating this one. */
  rotatedTo: z.string().optional(),
  status: z.enum(['active', 'expired', 'revoked']),
});
export type ApiKeyView = z.infer<typeof ApiKeyViewSchema>;

/** A new key: the only time the secret is shown. */
export const CreatedApiKeySchema = ApiKeyViewSchema.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;

/** Why a call was refused, in the `auth.denied` audit event and the access review. */
export const DenialReasonSchema = z.enum([
  'missing_credentials',
  'malformed_credentials',
  'unknown_key',
  'expired_key',
  'revoked_key',
  'invalid_token',
  'expired_token',
  'token_not_mapped',
  'missing_scope',
  'foreign_tenant',
]);
export type DenialReason = z.infer<typeof DenialReasonSchema>;

/** On Subjects.apiKeyRevoked: the key every gateway replica must stop trusting now. */
export const ApiKeyRevokedSchema = z.object({ keyId: z.string().min(1).max(128) });
