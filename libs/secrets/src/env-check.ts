/** One variable that carries a secret: its name and why it was flagged, never its value. */
export interface SecretInEnv {
  name: string;
  reason: string;
}

/**
 * Thrown at start-up in production when the environment carries a secret. `issues` has the shape of
 * @keelson/config's ConfigIssue ({ name, reason }), so a config loader can report both together.
 */
export class SecretsInEnvError extends Error {
  constructor(readonly issues: SecretInEnv[]) {
    super(
      `Invalid configuration: secrets must come from the secrets layer (a mounted file or Vault), not the environment:\n` +
        issues.map((i) => `  - ${i.name}: ${i.reason}`).join('\n'),
    );
    this.name = 'ConfigError';
  }
}

/** Names that say "this holds a secret"; `*_FILE` and `*_REF` (where to find one) are fine. */
const SECRET_NAME = /(^|_)(API_KEY|SECRET|SECRET_KEY|SECRET_ACCESS_KEY|ACCESS_KEY|CLIENT_SECRET|PASSWORD|PASSWD|PASS|TOKEN|AUTH_TOKEN|PRIVATE_KEY)$/i;
const POINTER_NAME = /_(FILE|REF|PATH)$/i;
/** scheme://user:password@host, including redis://:password@host. */
const URL_WITH_PASSWORD = /[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:[^@/\s]+@/i;

/** Values shaped like well-known credentials, whatever the variable is called. */
const KEY_SHAPES: { label: string; pattern: RegExp }[] = [
  { label: 'an OpenAI/Anthropic-style API key (sk-...)', pattern: /\bsk-[A-Za-z0-9_-]{16,}/ },
  { label: 'an AWS access key id (AKIA.../ASIA...)', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { label: 'a GitHub token (ghp_/gho_/ghs_/github_pat_...)', pattern: /\b(gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{30,})/ },
  { label: 'a Slack token (xox...)', pattern: /\bxox[abeoprs]-[A-Za-z0-9-]{10,}/ },
  { label: 'a private key (-----BEGIN ... PRIVATE KEY-----)', pattern: /-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/ },
  { label: 'a Vault token (hvs./hvb.)', pattern: /\bhv[sbr]\.[A-Za-z0-9_-]{20,}/ },
  { label: 'a Google API key (AIza...)', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
];

export function isProduction(env: Record<string, string | undefined>): boolean {
  return env['NODE_ENV'] === 'production' || env['KEELSON_ENV'] === 'production';
}

/** Every variable in `env` that carries a secret, sorted by name; no values in the result. */
export function findSecretsInEnv(env: Record<string, string | undefined>): SecretInEnv[] {
  const found: SecretInEnv[] = [];
  for (const [name, value] of Object.entries(env)) {
    if (value === undefined || value === '') continue;
    if (SECRET_NAME.test(name) && !POINTER_NAME.test(name)) {
      found.push({ name, reason: `its name says it holds a secret: mount it and set ${name}_FILE (or ${name}_REF) instead` });
      continue;
    }
    if (URL_WITH_PASSWORD.test(value)) {
      found.push({ name, reason: 'a URL with a password in it: take the password from a secret file or Vault' });
      continue;
    }
    const shape = KEY_SHAPES.find((k) => k.pattern.test(value));
    if (shape) found.push({ name, reason: `its value looks like ${shape.label}` });
  }
  return found.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * The start-up check: in production (`production`, or NODE_ENV / KEELSON_ENV = production) throws
 * SecretsInEnvError naming every variable that carries a secret; elsewhere returns them as warnings (one
 * line each, names only) for the caller to log.
 */
export function assertNoSecretsInEnv(env: Record<string, string | undefined> = process.env, options: { production?: boolean } = {}): string[] {
  const found = findSecretsInEnv(env);
  if (found.length && (options.production ?? isProduction(env))) throw new SecretsInEnvError(found);
  return found.map((f) => `${f.name} carries a secret (${f.reason}); production refuses to start with it`);
}
