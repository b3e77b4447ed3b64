import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { SAMPLE_EVENT_FILE, writeKeysFile } from './testing';

const root = resolve(__dirname, '..', '..', '..');
const dir = mkdtempSync(join(tmpdir(), 'keelson-fn-package-'));
after(() => rmSync(dir, { recursive: true, force: true }));

// Runs in a fresh node, outside the repository (no node_modules above it): only the package can resolve anything.
const CHILD = `
const { readFileSync } = require('node:fs');
const { handler } = require(process.env.PACKAGE + '/lambda.js');
const event = JSON.parse(readFileSync(process.env.EVENT_FILE, 'utf8'));
event.rawPath = '/v1/agents/assistant/invoke';
event.requestContext.http.method = 'POST';
event.headers = { authorization: 'Bearer ' + process.env.KEY, 'content-type': 'application/json' };
event.body = Buffer.from(JSON.stringify({ input: 'from the zip' })).toString('base64');
event.isBase64Encoded = true;
handler(event, { awsRequestId: 'pkg-test' }).then((r) => { process.stdout.write('RESULT ' + JSON.stringify(r) + '\\n'); process.exit(0); });
`;

describe('tools/function/package.mjs', () => {
  it('produces a self-contained folder: a fresh node process outside the repository requires lambda.handler and gets an answer', () => {
    const out = join(dir, 'pkg');
    const printed = execFileSync(process.execPath, [join(root, 'tools', 'function', 'package.mjs'), '--no-build', '--out', out], { cwd: root, encoding: 'utf8' });
    assert.match(printed, /files, [\d.]+ MiB unzipped/);
    assert.ok(!existsSync(join(out, 'lambda.spec.js')) && !existsSync(join(out, 'testing.js')), 'no test files in the package');
    assert.ok(!existsSync(join(out, 'node_modules', '@keelson', 'testing')), 'no test library in the package');
    const keys = writeKeysFile(dir);
    const output = execFileSync(process.execPath, ['-e', CHILD], {
      cwd: dir,
      encoding: 'utf8',
      // AWS_LAMBDA_FUNCTION_NAME: as inside Lambda, the runtime is built while the module loads (init phase).
      env: { PATH: process.env['PATH'] ?? '', AWS_LAMBDA_FUNCTION_NAME: 'keelson-test', PACKAGE: out, EVENT_FILE: SAMPLE_EVENT_FILE, KEY: keys.invokeKey, KEELSON_API_KEYS_FILE: keys.file, LOG_LEVEL: 'warn' },
    });
    const line = output.split('\n').find((l) => l.startsWith('RESULT '));
    assert.ok(line, `the packaged handler answered nothing; it printed: ${output}`);
    const result = JSON.parse(line.slice('RESULT '.length));
    assert.equal(result.statusCode, 200, result.body);
    assert.match(JSON.parse(result.body).output, /You said: "from the zip"/);
    assert.equal(result.headers['x-request-id'], 'pkg-test');
  });
});
