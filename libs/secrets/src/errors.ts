/**
 * Errors of the secrets layer. Every message names the setting, the source and the reference (a path, a
 * Vault path and field) and, for I/O, the errno or HTTP status; never a secret's value and never a raw
 * client error (an HTTP client's error carries the request headers, which hold the Vault token).
 */
export type SecretErrorKind =
  | 'bad-ref' // the reference does not parse
  | 'not-found' // no such file, Vault path or field
  | 'unreadable' // exists but cannot be read (permissions, a directory, not a string)
  | 'empty' // exists and is empty
  | 'denied' // the source refused (Vault 403)
  | 'unavailable' // the source cannot be reached (connection refused, timeout, 5xx)
  | 'auth' // the source's credentials failed (login, token renewal, expired token)
  | 'insecure'; // refused for safety (a world-readable file when told to refuse)

export class SecretError extends Error {
  constructor(
    readonly kind: SecretErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'SecretError';
  }
}

/** Start-up failed: one line per secret that could not be fetched, naming its setting and source. */
export class SecretsStartError extends Error {
  constructor(readonly failures: { setting: string; source: string; error: SecretError }[]) {
    super(
      `cannot start: ${failures.length} secret(s) unavailable:\n` +
        failures.map((f) => `  - ${f.setting} (from ${f.source}): ${f.error.message}`).join('\n'),
    );
    this.name = 'SecretsStartError';
  }
}

/** Turns anything thrown into a SecretError without carrying the original (it may hold a token). */
export function asSecretError(err: unknown, fallback: (code: string) => SecretError): SecretError {
  if (err instanceof SecretError) return err;
  const code = (err as { code?: unknown } | null)?.code;
  return fallback(typeof code === 'string' && /^[A-Z0-9_]{2,40}$/.test(code) ? code : 'error');
}
