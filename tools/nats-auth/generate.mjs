#!/usr/bin/env node
// Writes the NATS users and permissions of docs/operations.md "NATS credentials and permissions":
//   node tools/nats-auth/generate.mjs --out <dir> [--keys <api-keys.json>] [--tenant <id>]...
// <dir>/nats-server.conf holds the authorization block (public nkeys only; `include` it from your server
// configuration or start `nats-server -c <dir>/nats-server.conf`), and <dir>/<identity>.nk each identity's
// seed (0600): one per service, `tenant-<id>.nk` per external publisher, `operator.nk` for tools. A service's
// file holds two seeds, one per line: its own identity and its responder's (the only one that may answer
// requests; docs/operations.md says why).
// Existing seeds are kept, so re-running after a permission change never invalidates anyone's credentials.
// Needs the built libs (npx tsc -b libs/messaging).
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../..', import.meta.url));
const messagingDist = resolve(root, 'libs/messaging/dist/index.js');

/** generateNatsAuth of @keelson/messaging, from its build. */
export function loadGenerator() {
  if (!existsSync(messagingDist)) throw new Error(`${messagingDist} is missing; build first: npx tsc -b libs/messaging`);
  return createRequire(import.meta.url)(messagingDist).generateNatsAuth;
}

/** The tenants of an API keys file (`{ keys: [{ tenant }] }`, the gateway's KEELSON_API_KEYS_FILE). */
export function tenantsOfKeysFile(path) {
  const parsed = JSON.parse(readFileSync(path, 'utf8'));
  return [...new Set((parsed.keys ?? []).map((k) => k.tenant).filter(Boolean))];
}

export function generate({ dir, tenants = [] }) {
  return loadGenerator()({ dir, tenants });
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const args = process.argv.slice(2);
  let out;
  const tenants = [];
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--out') out = args[++i];
    else if (args[i] === '--keys') tenants.push(...tenantsOfKeysFile(args[++i]));
    else if (args[i] === '--tenant') tenants.push(args[++i]);
    else {
      console.error(`unknown argument ${args[i]}\nusage: node tools/nats-auth/generate.mjs --out <dir> [--keys <api-keys.json>] [--tenant <id>]...`);
      process.exit(2);
    }
  }
  if (!out) {
    console.error('usage: node tools/nats-auth/generate.mjs --out <dir> [--keys <api-keys.json>] [--tenant <id>]...');
    process.exit(2);
  }
  const files = generate({ dir: resolve(out), tenants });
  console.log(`server configuration: ${files.configFile}`);
  for (const id of [files.operator, ...Object.values(files.services), ...Object.values(files.tenants)]) {
    const responder = id.responder ? ` (line 2: its responder, inbox prefix ${id.responder.permissions.inboxPrefix})` : '';
    console.log(`${id.name.padEnd(20)} ${id.seedFile}  inbox prefix ${id.permissions.inboxPrefix}${responder}`);
  }
}
