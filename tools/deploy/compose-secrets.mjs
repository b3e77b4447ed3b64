#!/usr/bin/env node
// Writes the secret files deploy/compose/compose.yaml mounts, under deploy/compose/secrets/ (gitignored):
//
//   npx tsc -b libs/messaging                      # the NATS permission sets come from its build
//   node tools/deploy/compose-secrets.mjs [--dir <dir>] [--tenant <id>]...
//
// - api-keys.json: the gateway's KEELSON_API_KEYS_FILE (hashes only) with one key for tenant `dev`, whose
//   value is written to dev-api-key (for you, not mounted anywhere) and printed once when created;
// - nats/: tools/nats-auth's nats-server.conf (public nkeys) and one seed per service, the operator's (the
//   jetstream-replicas job, your tools) and one per --tenant (external publishers);
// - redis_password and redis.conf (requirepass, AOF), mongodb_root_password, mongodb_password,
//   weaviate_api_key, object_store_access_key / object_store_secret_key (MinIO's root user, which the services
//   use), grafana_admin_password.
// Existing files are kept, so re-running never changes a credential in use; delete a file to rotate it.
// The directory is 0700 (only you on this host); the files are 0444 because compose bind-mounts them as
// they are and the services run as uid 65532, not as you (docs/secrets.md: a world-readable secret file
// gets a warning, not a refusal).
import { randomBytes, createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { generate } from '../nats-auth/generate.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
export const DEFAULT_DIR = join(root, 'deploy/compose/secrets');

const token = (bytes = 24) => randomBytes(bytes).toString('base64url');

/** Writes what is missing; returns `{ created: [names], devApiKey? }` (the key only when it was created now). */
export function writeComposeSecrets({ dir = DEFAULT_DIR, tenants = [] } = {}) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  const created = [];
  const put = (name, content) => {
    const path = join(dir, name);
    if (existsSync(path)) return false;
    writeFileSync(path, content, { mode: 0o444 });
    created.push(name);
    return true;
  };

  let devApiKey;
  if (!existsSync(join(dir, 'api-keys.json'))) {
    devApiKey = `ks_${token()}`;
    const sha256 = createHash('sha256').update(devApiKey).digest('hex');
    put('api-keys.json', `${JSON.stringify({ keys: [{ id: 'compose-dev', tenant: 'dev', sha256, scopes: ['*'] }] }, null, 2)}\n`);
    writeFileSync(join(dir, 'dev-api-key'), `${devApiKey}\n`, { mode: 0o600 });
  }

  const redisPassword = token();
  if (put('redis_password', redisPassword)) {
    // The password is in the configuration because redis-server reads it from nowhere else; both are secrets.
    writeFileSync(
      join(dir, 'redis.conf'),
      ['# Written by tools/deploy/compose-secrets.mjs: Redis for the compose stack.', `requirepass ${redisPassword}`, 'dir /data',
        'appendonly yes', 'appendfsync everysec', 'save 3600 1 300 100 60 10000', ''].join('\n'),
      { mode: 0o444 },
    );
    created.push('redis.conf');
  }
  put('mongodb_root_password', token());
  put('mongodb_password', token());
  put('weaviate_api_key', token(32));
  put('object_store_access_key', `keelson${randomBytes(6).toString('hex')}`);
  put('object_store_secret_key', token(30));
  put('grafana_admin_password', token(18));

  // NATS: generate keeps existing seeds and rewrites the configuration (a new tenant, changed permissions).
  const natsDir = join(dir, 'nats');
  mkdirSync(natsDir, { recursive: true, mode: 0o700 });
  const before = new Set(readdirSync(natsDir));
  for (const name of before) chmodSync(join(natsDir, name), 0o644); // generate rewrites the configuration
  generate({ dir: natsDir, tenants });
  for (const name of readdirSync(natsDir)) {
    chmodSync(join(natsDir, name), 0o444);
    if (!before.has(name)) created.push(`nats/${name}`);
  }
  chmodSync(natsDir, 0o755);
  return { created, devApiKey, dir };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let dir = DEFAULT_DIR;
  const tenants = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--dir') dir = resolve(args[++i]);
    else if (args[i] === '--tenant') tenants.push(args[++i]);
    else {
      console.error('usage: node tools/deploy/compose-secrets.mjs [--dir <dir>] [--tenant <id>]...');
      process.exit(2);
    }
  }
  const { created, devApiKey } = writeComposeSecrets({ dir, tenants });
  console.log(created.length ? `written under ${dir}:\n  ${created.join('\n  ')}` : `nothing to write: every secret exists under ${dir}`);
  if (devApiKey) console.log(`\nAPI key of tenant dev (also in ${join(dir, 'dev-api-key')}):\n  ${devApiKey}`);
}
