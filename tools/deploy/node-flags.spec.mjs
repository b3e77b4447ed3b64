// The services' production node flags (tools/deploy/node-flags.mjs): read from the Dockerfile's CMD, and
// every one accepted by this node. Run: node --test tools/deploy/node-flags.spec.mjs
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, test } from 'node:test';
import { serviceNodeFlags } from './node-flags.mjs';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

describe('service node flags', () => {
  test('come from the Dockerfile CMD, flags only, and node starts with them', () => {
    const flags = serviceNodeFlags(ROOT);
    for (const flag of flags) assert.match(flag, /^--[a-z][a-z0-9-]*(=\S+)?$/, `${flag} is not a node flag`);
    assert.equal(execFileSync(process.execPath, [...flags, '-e', 'process.stdout.write("ok")'], { encoding: 'utf8' }), 'ok');
  });

  test('no --enable-source-maps in production: it keeps every module\'s source map in memory', () => {
    assert.ok(!serviceNodeFlags(ROOT).includes('--enable-source-maps'));
  });
});
