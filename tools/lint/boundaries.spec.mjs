// The layer rules are only worth something if a violation fails lint: lint a few would-be files and check.
// Needs the Nx project graph (`npx nx show projects` computes it; `npm test` runs that before lint).
import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';

const root = new URL('../..', import.meta.url).pathname;
const eslint = new ESLint({ cwd: root });

async function ruleIdsFor(filePath, code) {
  const [result] = await eslint.lintText(code, { filePath: `${root}${filePath}` });
  return result.messages.map((m) => m.ruleId);
}

describe('layer boundaries enforced by lint', () => {
  it('forbids the contracts lib from importing any other layer', async () => {
    assert.ok((await ruleIdsFor('libs/contracts/src/x.ts', "import '@keelson/messaging';\n")).includes('@nx/enforce-module-boundaries'));
  });

  it('forbids a framework-free lib from importing NestJS', async () => {
    const ids = await ruleIdsFor('libs/messaging/src/x.ts', "import { Injectable } from '@nestjs/common';\nexport const x = Injectable;\n");
    assert.ok(ids.includes('@nx/enforce-module-boundaries'), `got ${ids.join(', ')}`);
  });

  it('forbids a framework-free lib from importing the NestJS adapters lib', async () => {
    assert.ok((await ruleIdsFor('libs/runtime/src/x.ts', "import '@keelson/nest-kit';\n")).includes('@nx/enforce-module-boundaries'));
  });

  it('forbids production code from importing the test harness', async () => {
    assert.ok((await ruleIdsFor('apps/gateway/src/x.ts', "import '@keelson/testing';\n")).includes('no-restricted-imports'));
  });

  it('lets a test import the test harness, and an app import the NestJS adapters', async () => {
    assert.deepEqual(await ruleIdsFor('apps/gateway/src/x.int-spec.ts', "import '@keelson/testing';\n"), []);
    assert.deepEqual(await ruleIdsFor('apps/gateway/src/x.ts', "import '@keelson/nest-kit';\n"), []);
  });
});
