/** Who is calling, as authentication found it. */
export interface Principal {
  /** How: an API key, or a bearer token from the OIDC issuer. */
  kind: 'api_key' | 'jwt';
  /** The API key id, or `jwt:{sub}` for a token: what budgets, limits and the audit trail name. */
  keyId: string;
  tenant: string;
  scopes: string[];
}

/** Why authentication failed; the HTTP status is 401 for every reason here. */
export class AuthError extends Error {
  constructor(
    readonly reason:
      | 'missing_credentials'
      | 'malformed_credentials'
      | 'unknown_key'
      | 'expired_key'
      | 'revoked_key'
      | 'invalid_token'
      | 'expired_token'
      | 'token_not_mapped',
    message: string,
    /** Known when the credentials named a key or a tenant even though they were refused (audit). */
    readonly known: { keyId?: string; tenant?: string } = {},
  ) {
    super(message);
    this.name = 'AuthError';
  }
}
