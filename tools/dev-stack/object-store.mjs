// Object storage for the local stack: the endpoint at OBJECT_STORE_URL when set (with its key files), else
// our own S3 server (tools/s3-server, s3rver) on 127.0.0.1:KEELSON_S3_PORT with data under .keelson/s3.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { probeTcp } from './infra.mjs';
import { StackError } from './ui.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The key in `file`, created once with random bytes (mode 600), so restarts keep reading the same objects. */
function keyFile(file, prefix) {
  if (!existsSync(file)) writeFileSync(file, `${prefix}${randomBytes(12).toString('hex')}`, { mode: 0o600 });
  return file;
}

/**
 * @returns {Promise<{ label: string, url: string, started: boolean, dataDir?: string, env: Record<string,string> }>}
 *   env: the OBJECT_STORE_* variables every service gets
 */
export async function ensureObjectStore({ env, dataDir, logsDir, sup, log, script }) {
  if (env.OBJECT_STORE_URL) {
    log(`object storage: using ${env.OBJECT_STORE_URL}`);
    return { label: 'S3', url: env.OBJECT_STORE_URL, started: false, env: {} };
  }
  const port = Number(env.KEELSON_S3_PORT || 8090);
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new StackError(`KEELSON_S3_PORT=${env.KEELSON_S3_PORT} is not a TCP port`);
  if ((await probeTcp('127.0.0.1', port)).reachable) {
    throw new StackError(`port ${port} (the local S3 server) is taken: set KEELSON_S3_PORT, or OBJECT_STORE_URL and its key files`);
  }
  const dir = join(dataDir, 's3');
  const keysDir = join(dataDir, 's3-keys');
  mkdirSync(dir, { recursive: true });
  mkdirSync(keysDir, { recursive: true, mode: 0o700 });
  const accessFile = keyFile(join(keysDir, 'access-key'), 'keelson-');
  const secretFile = keyFile(join(keysDir, 'secret-key'), '');
  const args = ['--openssl-legacy-provider', script, '--port', String(port), '--dir', dir, '--access-key', readFileSync(accessFile, 'utf8'), '--secret-key', readFileSync(secretFile, 'utf8')];
  log(`S3: starting the local S3 server on 127.0.0.1:${port} (data in ${dir})`);
  sup.start({ name: 's3', command: process.execPath, args, logFile: join(logsDir, 's3.log'), echo: false, match: script });
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (sup.stats('s3').lastExit) break;
    if ((await probeTcp('127.0.0.1', port)).reachable) {
      const url = `http://127.0.0.1:${port}`;
      return { label: 'S3', url, started: true, dataDir: dir, env: { OBJECT_STORE_URL: url, OBJECT_STORE_ACCESS_KEY_FILE: accessFile, OBJECT_STORE_SECRET_KEY_FILE: secretFile } };
    }
    await sleep(200);
  }
  const tail = sup.tail('s3', 15).map((l) => `    ${l}`).join('\n');
  throw new StackError(`the local S3 server did not come up on port ${port}. Its last output:\n${tail || '    (none)'}`);
}
