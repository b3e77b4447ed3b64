import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  KEELSON_SERVICES,
  OperatorPermissions,
  RESPONSE_PERMISSION_EXPIRY,
  ResponderPermissions,
  ServicePermissions,
  TENANT_ID_PATTERN,
  tenantPermissions,
  type KeelsonService,
  type NatsPermissionSet,
} from '@keelson/contracts';
import { nkeys } from 'nats';

/** One generated identity: its nkey user, the 0600 file holding its seed, and what it may do. */
export interface NatsIdentity {
  name: string;
  publicKey: string;
  seedFile: string;
  permissions: NatsPermissionSet;
  /** A service's second identity, whose seed is the second line of the same file (NatsIdentityRole). */
  responder?: { name: string; publicKey: string; permissions: NatsPermissionSet };
}

export interface NatsAuthFiles {
  /** A nats-server configuration holding the `authorization` block; start with `nats-server -c <file>`. */
  configFile: string;
  /** Tools, tests and operators: every subject. */
  operator: NatsIdentity;
  services: Record<KeelsonService, NatsIdentity>;
  tenants: Record<string, NatsIdentity>;
}

export interface GenerateNatsAuthOptions {
  /** Written with mode 0700; the seed files under it 0600. */
  dir: string;
  /** External publishers, one identity each (the tenants of the API keys file). */
  tenants?: readonly string[];
  /**
   * Extra lines for the server configuration after the authorization block (e.g. `jetstream { … }`);
   * command-line flags still win over the file.
   */
  extraConfig?: string;
}

/**
 * Writes a nats-server configuration with one nkey user per service, per tenant publisher and an operator,
 * each with the permissions of @keelson/contracts nats-permissions, and each identity's seed in its own 0600
 * file (`<dir>/<name>.nk`). The server configuration holds public keys only: nothing in it lets anyone
 * connect, so it needs no hashing (nkeys are challenge-response; the seed never leaves the client).
 * An existing seed file is kept, so a re-run changes permissions without disconnecting anyone's credentials.
 */
export function generateNatsAuth(opts: GenerateNatsAuthOptions): NatsAuthFiles {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  // Seeds already on disk are kept (a file written before the responder split gets its second line added).
  const identity = (name: string, permissions: NatsPermissionSet, responder?: NatsPermissionSet): NatsIdentity => {
    const seedFile = join(opts.dir, `${name}.nk`);
    const kept = existsSync(seedFile) ? readFileSync(seedFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
    const seeds = Array.from({ length: responder ? 2 : 1 }, (_, i) => kept[i] ?? new TextDecoder().decode(nkeys.createUser().getSeed()));
    if (seeds.join('\n') !== kept.join('\n')) writePrivate(seedFile, seeds.join('\n') + '\n');
    const [own, answering] = seeds.map((seed) => nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey());
    return {
      name,
      publicKey: own!,
      seedFile,
      permissions,
      ...(responder ? { responder: { name: `${name} responder`, publicKey: answering!, permissions: responder } } : {}),
    };
  };
  const tenants = [...new Set(opts.tenants ?? [])].sort();
  for (const tenant of tenants) {
    if (!TENANT_ID_PATTERN.test(tenant)) throw new Error(`not a tenant id: ${JSON.stringify(tenant)}`);
  }
  const services = Object.fromEntries(KEELSON_SERVICES.map((s) => [s, identity(s, ServicePermissions[s], ResponderPermissions[s])])) as Record<
    KeelsonService,
    NatsIdentity
  >;
  const tenantIds = Object.fromEntries(tenants.map((t) => [t, identity(`tenant-${t}`, tenantPermissions(t))]));
  const operator = identity('operator', OperatorPermissions);
  const configFile = join(opts.dir, 'nats-server.conf');
  writePrivate(configFile, natsServerAuthConfig([operator, ...Object.values(services), ...Object.values(tenantIds)], opts.extraConfig));
  return { configFile, operator, services, tenants: tenantIds };
}

/** The `authorization` block for `identities` (nats-server configuration syntax; strings JSON-quoted, so `$JS` stays literal). */
export function natsServerAuthConfig(identities: readonly NatsIdentity[], extra = ''): string {
  const q = (s: string) => JSON.stringify(s);
  const list = (items: readonly string[]) => `[${items.map(q).join(', ')}]`;
  const user = (name: string, publicKey: string, p: NatsPermissionSet): string => {
    const responses = p.allowResponses ? `, allow_responses: { max: 1, expires: ${q(RESPONSE_PERMISSION_EXPIRY)} }` : '';
    // nats-server reads an empty allow list as "everything"; a responder publishes only its answers.
    const publish = p.publish.length > 0 ? `allow: ${list(p.publish)}` : `deny: ${list(['>'])}`;
    return (
      `    # ${name} (inbox prefix ${p.inboxPrefix})\n` +
      `    { nkey: ${q(publicKey)}, permissions: { publish: { ${publish} }, subscribe: { allow: ${list(p.subscribe)} }${responses} } }`
    );
  };
  const users = identities.flatMap((id) => [
    user(id.name, id.publicKey, id.permissions),
    ...(id.responder ? [user(id.responder.name, id.responder.publicKey, id.responder.permissions)] : []),
  ]);
  return [
    '# Generated by tools/nats-auth (libs/messaging generateNatsAuth) from @keelson/contracts nats-permissions.',
    '# Public keys only; each identity\'s seed is in its own 0600 file next to this one. Regenerate, do not edit.',
    'authorization {',
    '  users = [',
    users.join('\n'),
    '  ]',
    '}',
    extra,
    '',
  ].join('\n');
}

/** Via a temp file and rename, so a reader never sees half a file, and 0600 from the start. */
function writePrivate(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o600 });
  chmodSync(tmp, 0o600);
  renameSync(tmp, path);
}
