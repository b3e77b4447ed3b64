// node --test tools/s3-server/main.spec.mjs
import { strict as assert } from 'node:assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { describe, it } from 'node:test';
import { parseArgs } from './main.mjs';

const script = new URL('./main.mjs', import.meta.url).pathname;

describe('s3-server arguments', () => {
  it('defaults, then env, then flags', () => {
    assert.deepEqual(parseArgs([], {}), {
      port: 9000,
      address: '127.0.0.1',
      dir: resolve('.keelson/s3'),
      accessKey: 'keelson-local',
      secretKey: 'keelson-local-secret',
      verbose: false,
    });
    const env = { S3_PORT: '9100', S3_DIR: '/tmp/a', S3_ACCESS_KEY: 'ak', S3_SECRET_KEY: 'sk', S3_ADDRESS: '0.0.0.0' };
    assert.deepEqual(parseArgs([], env), { port: 9100, address: '0.0.0.0', dir: '/tmp/a', accessKey: 'ak', secretKey: 'sk', verbose: false });
    const flags = parseArgs(['--port', '0', '--dir', '/tmp/b', '--access-key', 'x', '--secret-key', 'y', '--verbose'], env);
    assert.deepEqual(flags, { port: 0, address: '0.0.0.0', dir: '/tmp/b', accessKey: 'x', secretKey: 'y', verbose: true });
  });

  it('refuses unknown or incomplete arguments, bad ports and empty keys', () => {
    assert.throws(() => parseArgs(['--nope'], {}), /unknown or incomplete argument --nope/);
    assert.throws(() => parseArgs(['--port'], {}), /unknown or incomplete argument --port/);
    for (const port of ['65536', '-1', 'abc', '1e3']) assert.throws(() => parseArgs(['--port', port], {}), /invalid port/);
    assert.throws(() => parseArgs([], { S3_SECRET_KEY: '' }), /must not be empty/);
  });
});

describe('s3-server process', () => {
  it('prints one ready line with its URL and stops on SIGTERM', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-s3-main-'));
    try {
      const child = spawn(process.execPath, ['--openssl-legacy-provider', script, '--port', '0', '--dir', dir], { stdio: ['ignore', 'pipe', 'inherit'] });
      const line = await new Promise((done) => createInterface({ input: child.stdout }).once('line', done));
      assert.match(line, new RegExp(`^s3-server ready url=http://127\\.0\\.0\\.1:\\d+ dir=${dir}$`));
      const exited = new Promise((done) => child.once('exit', (code) => done(code)));
      child.kill('SIGTERM');
      assert.equal(await exited, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without the legacy OpenSSL provider it refuses to start and says how to run it', async () => {
    const child = spawn(process.execPath, [script, '--port', '0', '--dir', join(tmpdir(), 'keelson-s3-unused')], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    let stderr = '';
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise((done) => child.once('exit', done));
    assert.equal(code, 1);
    assert.match(stderr, /node --openssl-legacy-provider tools\/s3-server\/main\.mjs/);
  });
});
