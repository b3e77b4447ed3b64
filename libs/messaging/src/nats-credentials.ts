import { readFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { nkeyAuthenticator, nkeys, usernamePasswordAuthenticator, type ConnectionOptions } from 'nats';

/**
 * How one identity authenticates to NATS. Secrets are only ever read from files (a mounted Kubernetes or
 * Docker secret, or the 0600 files tools/nats-auth writes), and re-read on every reconnect, so a rotated
 * file is picked up without a restart.
 */
export type NatsCredentials =
  | { kind: 'nkey'; seedFile: string; inboxPrefix?: string | undefined }
  | { kind: 'password'; user: string; passwordFile: string; inboxPrefix?: string | undefined }
  /** No authentication, but a private inbox prefix (a server with `no_auth_user`, or a test). */
  | { kind: 'none'; inboxPrefix?: string | undefined };

/**
 * Which of a service's two identities a connection uses. A service's seed file holds two seeds, one per line:
 * its own identity (JetStream, publishes, requests) and its responder's, which alone may answer requests
 * (nats-permissions `ResponderPermissions`). A file with one seed (a tenant's, the operator's, or one written
 * before the split) has no responder: the service then answers on its main connection.
 */
export type NatsIdentityRole = 'service' | 'responder';

/** The credential settings of a service's configuration (libs/config natsAuthSettings). */
export interface NatsCredentialSettings {
  NATS_NKEY_SEED_FILE?: string | undefined;
  NATS_USER?: string | undefined;
  NATS_PASSWORD_FILE?: string | undefined;
  NATS_INBOX_PREFIX?: string | undefined;
}

/** The credentials a loaded configuration names, or undefined when it names none (no auth, as before). */
export function natsCredentialsFrom(settings: NatsCredentialSettings): NatsCredentials | undefined {
  const inboxPrefix = settings.NATS_INBOX_PREFIX;
  if (settings.NATS_NKEY_SEED_FILE && (settings.NATS_USER || settings.NATS_PASSWORD_FILE)) {
    throw new Error('NATS_NKEY_SEED_FILE and NATS_USER/NATS_PASSWORD_FILE both set: choose one way to authenticate to NATS');
  }
  if (Boolean(settings.NATS_USER) !== Boolean(settings.NATS_PASSWORD_FILE)) {
    throw new Error(`${settings.NATS_USER ? 'NATS_PASSWORD_FILE' : 'NATS_USER'} is required when ${settings.NATS_USER ? 'NATS_USER' : 'NATS_PASSWORD_FILE'} is set`);
  }
  if (settings.NATS_NKEY_SEED_FILE) return { kind: 'nkey', seedFile: settings.NATS_NKEY_SEED_FILE, inboxPrefix };
  if (settings.NATS_USER && settings.NATS_PASSWORD_FILE) {
    return { kind: 'password', user: settings.NATS_USER, passwordFile: settings.NATS_PASSWORD_FILE, inboxPrefix };
  }
  return inboxPrefix ? { kind: 'none', inboxPrefix } : undefined;
}

/** Whether `credentials` name a responder identity of their own (a second seed in the seed file). */
export async function hasResponderIdentity(credentials: NatsCredentials | undefined): Promise<boolean> {
  if (credentials?.kind !== 'nkey') return false;
  return seedLines(await readSecret(credentials.seedFile)).length > 1;
}

/**
 * nats.js connect options for `credentials` as `role`: an authenticator reading the file, and the inbox prefix
 * (a responder's is `<prefix>.responder`, so its inbox never mixes with the service's).
 */
export async function natsAuthOptions(credentials: NatsCredentials | undefined, role: NatsIdentityRole = 'service'): Promise<Partial<ConnectionOptions>> {
  if (!credentials) return {};
  const inboxPrefix = credentials.inboxPrefix && role === 'responder' ? `${credentials.inboxPrefix}.responder` : credentials.inboxPrefix;
  const prefix = inboxPrefix ? { inboxPrefix } : {};
  if (credentials.kind === 'none') return prefix;
  if (credentials.kind === 'nkey') {
    const line = role === 'responder' ? 1 : 0;
    let seed = parseSeed(await readSecret(credentials.seedFile), credentials.seedFile, line);
    const current = (): Uint8Array => {
      try {
        seed = parseSeed(readFileSync(credentials.seedFile, 'utf8').trim(), credentials.seedFile, line);
      } catch {
        // Mid-rotation or briefly unreadable: keep the last good seed; the server decides.
      }
      return seed;
    };
    return { ...prefix, authenticator: nkeyAuthenticator(current) };
  }
  let password = await readSecret(credentials.passwordFile);
  const current = (): string => {
    try {
      password = readFileSync(credentials.passwordFile, 'utf8').trim() || password;
    } catch {
      // as above
    }
    return password;
  };
  return { ...prefix, authenticator: usernamePasswordAuthenticator(credentials.user, current) };
}

async function readSecret(path: string): Promise<string> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (err) {
    throw new Error(`cannot read the NATS credential file ${path}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  if (!text) throw new Error(`the NATS credential file ${path} is empty`);
  return text;
}

const seedLines = (text: string): string[] => text.split('\n').map((l) => l.trim()).filter(Boolean);

/** The user seed (`SU…`) on line `line` of the file; the value itself never appears in an error. */
function parseSeed(text: string, path: string, line = 0): Uint8Array {
  const lines = seedLines(text);
  if (line >= lines.length) throw new Error(`the NATS credential file ${path} holds no responder seed (its second line)`);
  const seed = new TextEncoder().encode(lines[line]);
  try {
    const kp = nkeys.fromSeed(seed);
    if (!kp.getPublicKey().startsWith('U')) throw new Error('not a user key');
  } catch {
    throw new Error(`the NATS credential file ${path} does not hold an nkey user seed (SU…)${line > 0 ? ' on its second line' : ''}`);
  }
  return seed;
}
