import { strict as assert } from 'node:assert';
import { chmod, mkdir, mkdtemp, readdir, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@keelson/testing';
import { SecretError } from '../errors';
import { parseSecretRef } from '../secret-ref';
import { Secrets } from '../secrets';
import { describeSecretSourceContract, secretValue } from '../testing/secret-source-contract';
import { FileSecretSource } from './file-secret-source';

/**
 * A directory laid out as a Kubernetes secret volume: `<key>` -> `..data/<key>`, `..data` ->
 * `..<timestamp>/`; an update writes a new timestamped directory and renames a new `..data` symlink over
 * the old one, atomically, as the kubelet's AtomicWriter does.
 */
async function kubernetesVolume(): Promise<{ dir: string; put(key: string, value: string): Promise<string>; close(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'keelson-secrets-'));
  const current = new Map<string, string>();
  let generation = 0;
  return {
    dir,
    async put(key, value) {
      current.set(key, value);
      const gen = `..2026_11_27_00_00_${String(++generation).padStart(2, '0')}.${process.pid}`;
      await mkdir(join(dir, gen), { mode: 0o755 });
      for (const [k, v] of current) await writeFile(join(dir, gen, k), `${v}\n`, { mode: 0o400 });
      const old = await readlink(join(dir, '..data')).catch(() => undefined);
      await symlink(gen, join(dir, '..data_tmp'));
      await rename(join(dir, '..data_tmp'), join(dir, '..data'));
      if (!(await readdir(dir)).includes(key)) await symlink(join('..data', key), join(dir, key));
      if (old) await rm(join(dir, old), { recursive: true });
      return `file:${join(dir, key)}`;
    },
    close: () => rm(dir, { recursive: true, force: true }),
  };
}

describeSecretSourceContract('FileSecretSource (a Kubernetes-style secret volume)', {
  async open() {
    const volume = await kubernetesVolume();
    return { source: new FileSecretSource(), put: volume.put, missing: (key) => `file:${join(volume.dir, key)}`, close: volume.close };
  },
});

describe('FileSecretSource', () => {
  let dir: string;
  const warnings: string[] = [];
  const source = new FileSecretSource({ onWarning: (m) => warnings.push(m) });
  const ref = (name: string) => parseSecretRef(`file:${join(dir, name)}`, 'TEST_API_KEY');
  const failure = async (name: string, s = source): Promise<SecretError> => {
    const err = await s.get(ref(name)).then(
      () => assert.fail(`expected ${name} to fail`),
      (e: unknown) => e,
    );
    assert.ok(err instanceof SecretError, `expected a SecretError, got ${String(err)}`);
    return err;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'keelson-secrets-'));
  });
  after(async () => {
    await source.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('drops one trailing newline only, keeping inner whitespace', async () => {
    await writeFile(join(dir, 'nl'), 'abc def\n\n', { mode: 0o400 });
    assert.equal((await source.get(ref('nl'))).secret.reveal(), 'abc def\n');
    await writeFile(join(dir, 'crlf'), 'abc\r\n', { mode: 0o400 });
    assert.equal((await source.get(ref('crlf'))).secret.reveal(), 'abc');
  });

  it('a missing file is not-found, naming the path and ENOENT', async () => {
    const err = await failure('absent');
    assert.equal(err.kind, 'not-found');
    assert.equal(err.message, `cannot read the secret file ${join(dir, 'absent')}: ENOENT`);
  });

  it('an unreadable path (a directory) is unreadable, naming the path and EISDIR', async () => {
    await mkdir(join(dir, 'adir'));
    const err = await failure('adir');
    assert.equal(err.kind, 'unreadable');
    assert.equal(err.message, `cannot read the secret file ${join(dir, 'adir')}: EISDIR`);
  });

  it('a file without read permission is unreadable, naming EACCES', { skip: process.getuid?.() === 0 ? 'running as root, which reads any file' : false }, async () => {
    await writeFile(join(dir, 'locked'), 'value', { mode: 0o000 });
    const err = await failure('locked');
    assert.equal(err.kind, 'unreadable');
    assert.match(err.message, /: EACCES$/);
  });

  it('an empty file (or a lone newline) is refused as empty', async () => {
    await writeFile(join(dir, 'empty'), '', { mode: 0o400 });
    await writeFile(join(dir, 'newline'), '\n', { mode: 0o400 });
    for (const name of ['empty', 'newline']) {
      const err = await failure(name);
      assert.equal(err.kind, 'empty');
      assert.equal(err.message, `the secret file ${join(dir, name)} is empty`);
    }
  });

  it('warns once about a world-readable file by default, and refuses it when told to', async () => {
    const value = secretValue();
    await writeFile(join(dir, 'open'), value);
    await chmod(join(dir, 'open'), 0o644);
    assert.equal((await source.get(ref('open'))).secret.reveal(), value);
    await source.get(ref('open'));
    assert.deepEqual(warnings, [`the secret file ${join(dir, 'open')} is readable by every user (mode o+r): mount it 0400 or 0440`]);
    const err = await failure('open', new FileSecretSource({ worldReadable: 'refuse' }));
    assert.equal(err.kind, 'insecure');
    assert.ok(!err.message.includes(value));
    assert.equal((await new FileSecretSource({ worldReadable: 'allow', onWarning: () => assert.fail('no warning') }).get(ref('open'))).secret.reveal(), value);
  });

  it('sees a Kubernetes ..data swap through the directory watch, before any periodic re-read', async () => {
    const volume = await kubernetesVolume();
    try {
      const first = secretValue();
      const second = secretValue();
      const refText = await volume.put('api_key', first);
      const secrets = new Secrets({ sources: [new FileSecretSource()], refreshIntervalMs: 3_600_000 }).declare('OPENAI_API_KEY', refText);
      await secrets.start();
      try {
        let seen: string | undefined;
        secrets.onChange('OPENAI_API_KEY', (s) => (seen = s.reveal()));
        await volume.put('api_key', second);
        await waitFor(() => seen === second, { description: 'the rotated key from the directory watch' });
        assert.equal(secrets.get('OPENAI_API_KEY').reveal(), second);
      } finally {
        await secrets.stop();
      }
    } finally {
      await volume.close();
    }
  });
});
