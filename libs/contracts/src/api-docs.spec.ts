import { strict as assert } from 'node:assert';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';

// Compiled to libs/contracts/dist/api-docs.spec.js: the repository root is three levels up.
const root = resolve(__dirname, '../../..');
const generator = join(root, 'tools/api-docs/generate.mjs');
const committed = join(root, 'docs/api');

function runCheck(dir?: string): { status: number | null; output: string } {
  const args = [generator, '--check', ...(dir ? ['--dir', dir] : [])];
  const run = spawnSync(process.execPath, args, { cwd: root, encoding: 'utf8', timeout: 60_000 });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

describe('docs/api is generated from the contracts', () => {
  let copy: string;

  before(() => {
    copy = mkdtempSync(join(tmpdir(), 'keelson-api-docs-'));
    cpSync(committed, copy, { recursive: true });
  });
  after(() => rmSync(copy, { recursive: true, force: true }));

  it('matches what the contracts generate (if not, run `npm run docs:api` and commit docs/api)', () => {
    const { status, output } = runCheck();
    assert.equal(status, 0, `generate.mjs --check failed:\n${output}`);
  });

  it('fails the check and names the file when a committed file is stale', () => {
    const path = join(copy, 'openapi.json');
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { info: { version: string } };
    doc.info.version = '0.0.0-stale';
    writeFileSync(path, `${JSON.stringify(doc, null, 2)}\n`);
    const { status, output } = runCheck(copy);
    assert.equal(status, 1, `expected exit 1 for a stale openapi.json, got ${status}:\n${output}`);
    assert.match(output, /openapi\.json is stale/);
    assert.doesNotMatch(output, /asyncapi\.json/, 'only the stale file should be named');
  });

  it('fails the check and names the file when a committed file is missing', () => {
    unlinkSync(join(copy, 'asyncapi.json'));
    const { status, output } = runCheck(copy);
    assert.equal(status, 1, `expected exit 1 for a missing asyncapi.json, got ${status}:\n${output}`);
    assert.match(output, /asyncapi\.json is missing/);
  });
});
