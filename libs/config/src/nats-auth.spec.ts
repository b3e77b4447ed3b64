import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { baseServiceConfig } from './base-service-config';
import { ConfigError } from './config-error';
import { loadConfig } from './load-config';
import { natsAuthSettings } from './nats-auth';

const schema = z.object(natsAuthSettings);

describe('natsAuthSettings', () => {
  it('is empty by default: no NATS auth, as before issue 9', () => {
    assert.deepEqual(loadConfig(schema, {}), {});
    const base = loadConfig(baseServiceConfig, {});
    assert.equal(base.NATS_NKEY_SEED_FILE, undefined);
    assert.equal(base.NATS_INBOX_PREFIX, undefined);
  });

  it('takes a seed file, or a user and a password file, and an inbox prefix', () => {
    assert.deepEqual(loadConfig(schema, { NATS_NKEY_SEED_FILE: '/run/secrets/nats.nk', NATS_INBOX_PREFIX: '_INBOX.svc.gateway' }), {
      NATS_NKEY_SEED_FILE: '/run/secrets/nats.nk',
      NATS_INBOX_PREFIX: '_INBOX.svc.gateway',
    });
    assert.equal(loadConfig(schema, { NATS_USER: 'gateway', NATS_PASSWORD_FILE: '/run/secrets/nats-pass' }).NATS_USER, 'gateway');
  });

  it('refuses a password in the environment, naming the variable to use instead, without echoing it', () => {
    assert.throws(
      () => loadConfig(schema, { NATS_PASSWORD: 'hunter2' }),
      (err: unknown) => err instanceof ConfigError && /NATS_PASSWORD_FILE/.test(err.message) && !err.message.includes('hunter2'),
    );
  });

  it('refuses an inbox prefix with wildcards', () => {
    assert.throws(() => loadConfig(schema, { NATS_INBOX_PREFIX: '_INBOX.>' }), /NATS_INBOX_PREFIX/);
  });
});
