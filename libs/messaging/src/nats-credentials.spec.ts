import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { nkeys } from 'nats';
import { hasResponderIdentity, natsAuthOptions, natsCredentialsFrom } from './nats-credentials';

describe('natsCredentialsFrom', () => {
  it('is undefined without settings (no auth), and keeps a lone inbox prefix', () => {
    assert.equal(natsCredentialsFrom({}), undefined);
    assert.deepEqual(natsCredentialsFrom({ NATS_INBOX_PREFIX: '_INBOX.x' }), { kind: 'none', inboxPrefix: '_INBOX.x' });
  });

  it('names the missing half of a user and password pair, and refuses two ways at once', () => {
    assert.throws(() => natsCredentialsFrom({ NATS_USER: 'gateway' }), /NATS_PASSWORD_FILE is required when NATS_USER is set/);
    assert.throws(() => natsCredentialsFrom({ NATS_PASSWORD_FILE: '/p' }), /NATS_USER is required when NATS_PASSWORD_FILE is set/);
    assert.throws(() => natsCredentialsFrom({ NATS_NKEY_SEED_FILE: '/s', NATS_USER: 'u', NATS_PASSWORD_FILE: '/p' }), /choose one/);
  });
});

describe('natsAuthOptions', () => {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-nats-cred-'));

  it('signs with the seed from the file and sets the inbox prefix', async () => {
    const kp = nkeys.createUser();
    const file = join(dir, 'svc.nk');
    writeFileSync(file, new TextDecoder().decode(kp.getSeed()) + '\n', { mode: 0o600 });
    const opts = await natsAuthOptions({ kind: 'nkey', seedFile: file, inboxPrefix: '_INBOX.svc.x' });
    assert.equal(opts.inboxPrefix, '_INBOX.svc.x');
    const auth = (opts.authenticator as (nonce?: string) => { nkey: string })('nonce');
    assert.equal(auth.nkey, kp.getPublicKey());
  });

  it('reads a password from its file and never puts a secret into an error', async () => {
    const file = join(dir, 'pass');
    writeFileSync(file, 's3cret\n', { mode: 0o600 });
    const opts = await natsAuthOptions({ kind: 'password', user: 'gateway', passwordFile: file });
    assert.deepEqual((opts.authenticator as () => unknown)(), { user: 'gateway', pass: 's3cret' });
    const bad = join(dir, 'bad.nk');
    writeFileSync(bad, 'not-a-seed-s3cret');
    await assert.rejects(natsAuthOptions({ kind: 'nkey', seedFile: bad }), (err: Error) => /does not hold an nkey user seed/.test(err.message) && !err.message.includes('s3cret'));
    await assert.rejects(natsAuthOptions({ kind: 'nkey', seedFile: join(dir, 'missing') }), /cannot read the NATS credential file .*ENOENT/);
  });

  it('connects a responder with the second seed of the file and its own inbox prefix', async () => {
    const [own, answering] = [nkeys.createUser(), nkeys.createUser()];
    const file = join(dir, 'two.nk');
    writeFileSync(file, [own, answering].map((kp) => new TextDecoder().decode(kp.getSeed())).join('\n') + '\n', { mode: 0o600 });
    const credentials = { kind: 'nkey' as const, seedFile: file, inboxPrefix: '_INBOX.svc.x' };
    assert.equal(await hasResponderIdentity(credentials), true);
    const signer = async (role: 'service' | 'responder') => {
      const opts = await natsAuthOptions(credentials, role);
      return { prefix: opts.inboxPrefix, nkey: (opts.authenticator as (nonce?: string) => { nkey: string })('nonce').nkey };
    };
    assert.deepEqual(await signer('service'), { prefix: '_INBOX.svc.x', nkey: own.getPublicKey() });
    assert.deepEqual(await signer('responder'), { prefix: '_INBOX.svc.x.responder', nkey: answering.getPublicKey() });
  });

  it('has no responder with one seed, and says so when one is asked for', async () => {
    const file = join(dir, 'one.nk');
    writeFileSync(file, new TextDecoder().decode(nkeys.createUser().getSeed()) + '\n', { mode: 0o600 });
    assert.equal(await hasResponderIdentity({ kind: 'nkey', seedFile: file }), false);
    assert.equal(await hasResponderIdentity({ kind: 'password', user: 'u', passwordFile: file }), false);
    assert.equal(await hasResponderIdentity(undefined), false);
    await assert.rejects(natsAuthOptions({ kind: 'nkey', seedFile: file }, 'responder'), /holds no responder seed \(its second line\)/);
  });
});
