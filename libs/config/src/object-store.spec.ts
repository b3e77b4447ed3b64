import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { ConfigError } from './config-error';
import { loadConfig } from './load-config';
import { objectStoreSettings, requireObjectStoreKeys } from './object-store';

const schema = z.object(objectStoreSettings).superRefine(requireObjectStoreKeys);

function failure(env: Record<string, string>): string {
  try {
    loadConfig(schema, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected loadConfig to throw');
}

const withKeys = { OBJECT_STORE_ACCESS_KEY_FILE: '/run/secrets/s3-access', OBJECT_STORE_SECRET_KEY_FILE: '/run/secrets/s3-secret' };

describe('objectStoreSettings', () => {
  it('defaults to no object storage, account local, everyone in us-east-1, 8 KiB threshold', () => {
    assert.deepEqual(loadConfig(schema, {}), {
      OBJECT_STORE_ACCOUNT: 'local',
      DATA_RESIDENCY: { default: 'us-east-1', tenants: {} },
      AUDIT_OFFLOAD_THRESHOLD_BYTES: 8192,
    });
  });

  it('parses a full configuration', () => {
    const config = loadConfig(schema, {
      OBJECT_STORE_URL: 'https://s3.eu-west-1.amazonaws.com',
      ...withKeys,
      OBJECT_STORE_ACCOUNT: 'acme-prod',
      DATA_RESIDENCY: '{"default":"eu-west-1","tenants":{"acme":"us-east-1"}}',
      AUDIT_OFFLOAD_THRESHOLD_BYTES: '0',
    });
    assert.equal(config.OBJECT_STORE_URL, 'https://s3.eu-west-1.amazonaws.com');
    assert.equal(config.OBJECT_STORE_ACCOUNT, 'acme-prod');
    assert.deepEqual(config.DATA_RESIDENCY, { default: 'eu-west-1', tenants: { acme: 'us-east-1' } });
    assert.equal(config.AUDIT_OFFLOAD_THRESHOLD_BYTES, 0);
  });

  it('names OBJECT_STORE_URL when it is not http(s)', () => {
    assert.match(failure({ OBJECT_STORE_URL: 's3://bucket', ...withKeys }), /OBJECT_STORE_URL: expected an http:\/\/ or https:\/\/ URL \(got "s3:\/\/bucket"\)/);
    assert.match(failure({ OBJECT_STORE_URL: 'not a url', ...withKeys }), /OBJECT_STORE_URL: expected an http/);
  });

  it('requires both key files once OBJECT_STORE_URL is set, naming each missing one', () => {
    const message = failure({ OBJECT_STORE_URL: 'http://127.0.0.1:9000' });
    assert.match(message, /OBJECT_STORE_ACCESS_KEY_FILE: required when OBJECT_STORE_URL is set/);
    assert.match(message, /OBJECT_STORE_SECRET_KEY_FILE: required when OBJECT_STORE_URL is set/);
    assert.doesNotMatch(
      failure({ OBJECT_STORE_URL: 'http://127.0.0.1:9000', OBJECT_STORE_ACCESS_KEY_FILE: '/a' }),
      /OBJECT_STORE_ACCESS_KEY_FILE/,
    );
  });

  it('refuses keys given as environment values, without echoing them', () => {
    const message = failure({ OBJECT_STORE_ACCESS_KEY: 'AKIAEXAMPLE', OBJECT_STORE_SECRET_KEY: 'wJalrXUtnFEMI' });
    assert.match(message, /OBJECT_STORE_ACCESS_KEY: secrets are read from files: set OBJECT_STORE_ACCESS_KEY_FILE instead/);
    assert.match(message, /OBJECT_STORE_SECRET_KEY: secrets are read from files: set OBJECT_STORE_SECRET_KEY_FILE instead/);
    assert.doesNotMatch(message, /AKIAEXAMPLE|wJalrXUtnFEMI/);
  });

  it('names OBJECT_STORE_ACCOUNT when it cannot start a bucket name', () => {
    for (const account of ['Acme', 'acme_prod', 'acme.prod', '-acme']) {
      assert.match(failure({ OBJECT_STORE_ACCOUNT: account }), /OBJECT_STORE_ACCOUNT: expected lowercase letters and digits/);
    }
  });

  it('names DATA_RESIDENCY and the part of it that is wrong', () => {
    assert.match(failure({ DATA_RESIDENCY: '{default:eu}' }), /DATA_RESIDENCY: expected JSON such as/);
    assert.match(failure({ DATA_RESIDENCY: '{"tenants":{}}' }), /DATA_RESIDENCY: .*default: /);
    assert.match(failure({ DATA_RESIDENCY: '{"default":"Europe"}' }), /DATA_RESIDENCY: .*default: expected a region such as eu-west-1/);
    assert.match(failure({ DATA_RESIDENCY: '{"default":"eu-west-1","tenants":{"acme":"moon-1"}}' }), /tenants\.acme: expected a region/);
    assert.match(failure({ DATA_RESIDENCY: '{"default":"eu-west-1","tenants":{"Acme Inc":"us-east-1"}}' }), /tenants\.Acme Inc: expected a tenant id/);
    assert.match(failure({ DATA_RESIDENCY: '{"default":"eu-west-1","extra":1}' }), /DATA_RESIDENCY: .*extra/);
    assert.match(failure({ DATA_RESIDENCY: '"eu-west-1"' }), /DATA_RESIDENCY: .*\(root\)/);
  });

  it('names AUDIT_OFFLOAD_THRESHOLD_BYTES when it is not a whole number in range', () => {
    for (const value of ['-1', '8k', '1.5', String(16 * 1024 * 1024 + 1)]) {
      assert.match(failure({ AUDIT_OFFLOAD_THRESHOLD_BYTES: value }), /AUDIT_OFFLOAD_THRESHOLD_BYTES: expected an integer between 0 and 16777216/);
    }
  });
});
