import { z } from 'zod';

const noSecretInEnv = (name: string) => z.undefined({ error: `secrets are read from files: set ${name}_FILE instead` }).optional();

/**
 * The service's own NATS identity (docs/operations.md "NATS credentials and permissions"), spread into
 * baseServiceConfig. None set: no authentication and the default `_INBOX` replies, as before issue 9.
 * Secrets only ever come from files; the password in an environment variable is refused.
 */
export const natsAuthSettings = {
  /** An nkey user seed (`SU…`) in a 0600 file, as tools/nats-auth writes them. */
  NATS_NKEY_SEED_FILE: z.string().min(1).optional(),
  /** User and password auth instead of an nkey: both, or neither. */
  NATS_USER: z.string().min(1).optional(),
  NATS_PASSWORD_FILE: z.string().min(1).optional(),
  NATS_PASSWORD: noSecretInEnv('NATS_PASSWORD'),
  /**
   * Where this identity's replies arrive (nats.js `inboxPrefix`), the one inbox its permissions let it
   * subscribe to: `_INBOX.svc.<service>` for the generated service identities.
   */
  NATS_INBOX_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*$/, 'expected dot-separated tokens without wildcards, such as _INBOX.svc.gateway')
    .optional(),
};
