import { strict as assert } from 'node:assert';
import { mkdtempSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { secretFromFile } from './secret-file';

describe('secretFromFile', () => {
  const file = () => join(mkdtempSync(join(tmpdir(), 'secret-')), 'key');

  it('reads the trimmed value, and the new one after the file is rotated', async () => {
    const path = file();
    writeFileSync(path, 'sk-first\n');
    const secret = secretFromFile(path);
    assert.equal(await secret(), 'sk-first');
    writeFileSync(path, 'sk-second\n');
    utimesSync(path, new Date(), new Date(Date.now() + 5_000));
    assert.equal(await secret(), 'sk-second');
  });

  it('names the file, never a value, when it is missing or empty', async () => {
    const path = file();
    await assert.rejects(secretFromFile(path)(), new RegExp(`cannot read the secret file ${path}: ENOENT`));
    writeFileSync(path, '  \n');
    await assert.rejects(secretFromFile(path)(), /is empty/);
  });
});
