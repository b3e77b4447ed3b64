#!/usr/bin/env node
// A local S3 endpoint (s3rver) for the dev stack and tests: path-style, one account, data in a directory.
// Usage: node tools/s3-server/main.mjs [--port N] [--address A] [--dir D] [--access-key K] [--secret-key S] [--verbose]
// Env fallbacks: S3_PORT (default 9000), S3_ADDRESS (127.0.0.1), S3_DIR (.keelson/s3), S3_ACCESS_KEY
// (keelson-local), S3_SECRET_KEY (keelson-local-secret). Prints one line once it listens:
//   s3-server ready url=http://127.0.0.1:9000 dir=/abs/dir
// SIGTERM or SIGINT closes it; the data stays in the directory.
// Run it as `node --openssl-legacy-provider tools/s3-server/main.mjs`: s3rver encrypts list continuation
// tokens with DES, which OpenSSL 3 only offers through the legacy provider; without it every listing past
// 1000 keys fails with a 500, so the server refuses to start instead.
// s3rver does not verify SigV4 signatures, only that the access key exists: a wrong secret key goes unnoticed.
import { createCipheriv } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { resolve } from 'node:path';

const require = createRequire(import.meta.url);
const S3rver = require('s3rver');
// s3rver checks signatures against its account registry; its built-in S3RVER/S3RVER key pair is replaced
// by ours so only the configured credentials work, as on a real endpoint.
const AWSAccount = require('s3rver/lib/models/account');

export function parseArgs(argv, env = process.env) {
  const options = {
    port: env.S3_PORT ?? '9000',
    address: env.S3_ADDRESS ?? '127.0.0.1',
    dir: env.S3_DIR ?? '.keelson/s3',
    accessKey: env.S3_ACCESS_KEY ?? 'keelson-local',
    secretKey: env.S3_SECRET_KEY ?? 'keelson-local-secret',
    verbose: false,
  };
  const names = { '--port': 'port', '--address': 'address', '--dir': 'dir', '--access-key': 'accessKey', '--secret-key': 'secretKey' };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--verbose') options.verbose = true;
    else if (names[arg] && argv[i + 1] !== undefined) options[names[arg]] = argv[++i];
    else throw new Error(`unknown or incomplete argument ${arg}`);
  }
  if (!/^\d{1,5}$/.test(String(options.port)) || Number(options.port) > 65535) throw new Error(`invalid port ${options.port}`);
  if (!options.accessKey || !options.secretKey) throw new Error('access key and secret key must not be empty');
  return { ...options, port: Number(options.port), dir: resolve(options.dir) };
}

/** Whether s3rver's list pagination can work in this process (see the header). */
export function desAvailable() {
  try {
    createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
    return true;
  } catch {
    return false;
  }
}

export async function startS3(options) {
  if (!desAvailable()) {
    throw new Error('DES is unavailable (OpenSSL 3): start it as node --openssl-legacy-provider tools/s3-server/main.mjs');
  }
  mkdirSync(options.dir, { recursive: true });
  AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
  AWSAccount.DUMMY_ACCOUNT.createKeyPair(options.accessKey, options.secretKey);
  const server = new S3rver({
    address: options.address,
    port: options.port,
    directory: options.dir,
    silent: !options.verbose,
    // Path-style only: the host name never names a bucket.
    vhostBuckets: false,
  });
  const { address, port } = await server.run();
  const host = address.includes(':') ? `[${address}]` : address;
  return { server, url: `http://${host}:${port}` };
}

async function main() {
  let options;
  try {
    options = parseArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`s3-server: ${err.message}`);
    process.exit(2);
  }
  let started;
  try {
    started = await startS3(options);
  } catch (err) {
    console.error(`s3-server: ${err.message}`);
    process.exit(1);
  }
  const { server, url } = started;
  const stop = () => {
    // Keep-alive connections can hold close() open; the data is on disk already, so do not wait long.
    setTimeout(() => process.exit(0), 2_000).unref();
    server.close().then(() => process.exit(0), () => process.exit(1));
  };
  // Before the ready line: whoever reads it may stop the server at once.
  process.once('SIGTERM', stop);
  process.once('SIGINT', stop);
  console.log(`s3-server ready url=${url} dir=${options.dir}`);
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('tools/s3-server/main.mjs')) {
  main().catch((err) => {
    console.error(`s3-server: ${err.stack ?? err.message}`);
    process.exit(1);
  });
}
