import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error';

/** Names whose values are never echoed in an error, not even in part. */
export const SECRET_NAME = /KEY|SECRET|TOKEN|PASSWORD/i;

type Env = Record<string, string | undefined>;

/**
 * Validates environment variables against a zod object schema (one key per variable) and returns the parsed,
 * typed result. An empty string counts as unset, so `PORT=` in a .env file falls back to the default.
 * Throws ConfigError naming every bad variable at once, so an operator fixes them in one go.
 */
export function loadConfig<S extends z.ZodObject>(schema: S, env: Env = process.env): z.infer<S> {
  const present: Env = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && value !== '') present[name] = value;

  const result = schema.safeParse(present);
  if (result.success) return result.data;

  const issues: ConfigIssue[] = result.error.issues.map((issue) => {
    const name = issue.path.length > 0 ? String(issue.path[0]) : '(configuration)';
    const value = present[name];
    const reason = value === undefined && issue.code === 'invalid_type' ? 'required but not set' : issue.message;
    return { name, reason: describe(name, reason, value) };
  });
  throw new ConfigError(dropSecretValues(issues, env));
}

/** Shows what was given for ordinary variables (it saves a round trip), never for secrets. */
function describe(name: string, reason: string, value: string | undefined): string {
  if (value === undefined || SECRET_NAME.test(name)) return reason;
  const shown = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return `${reason} (got "${maskUrlPassword(shown)}")`;
}

/** `redis://user:pw@host` -> `redis://user:***@host`: URLs in ordinary variables often embed a password. */
function maskUrlPassword(value: string): string {
  return value.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@\s]*):[^@/\s]+@/i, '$1:***@');
}

/**
 * A custom refine message could quote the input; scrub every secret's value from every reason, whichever
 * variable it was reported against, so no message can leak one. Values under 4 characters are left alone:
 * scrubbing "1" would garble "between 0 and 65535", and such a value protects nothing anyway.
 */
function dropSecretValues(issues: ConfigIssue[], env: Env): ConfigIssue[] {
  const secrets = Object.entries(env)
    .filter(([name, value]) => SECRET_NAME.test(name) && value !== undefined && value.length >= 4)
    .map(([, value]) => value!)
    .sort((a, b) => b.length - a.length);
  return issues.map(({ name, reason }) => ({
    name,
    reason: secrets.reduce((text, secret) => text.split(secret).join('***'), reason),
  }));
}
