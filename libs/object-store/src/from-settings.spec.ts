import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { objectStorageFromSettings } from './from-settings';

const base = { OBJECT_STORE_ACCOUNT: 'local', DATA_RESIDENCY: { default: 'eu-west-1', tenants: { acme: 'us-east-1' } }, AUDIT_OFFLOAD_THRESHOLD_BYTES: 100 };

describe('objectStorageFromSettings', () => {
  it('is undefined without OBJECT_STORE_URL', () => {
    assert.equal(objectStorageFromSettings(base), undefined);
  });

  it('builds the store, residency, offloader and archiver from the settings', () => {
    const storage = objectStorageFromSettings({
      ...base,
      OBJECT_STORE_URL: 'http://127.0.0.1:9000',
      OBJECT_STORE_ACCESS_KEY_FILE: '/run/secrets/a',
      OBJECT_STORE_SECRET_KEY_FILE: '/run/secrets/s',
    });
    assert.ok(storage);
    assert.equal(storage.account, 'local');
    assert.equal(storage.residency.regionFor('acme'), 'us-east-1');
    assert.equal(storage.offloader.thresholdBytes, 100);
  });

  it('refuses a URL without key files, and a bad residency', () => {
    assert.throws(() => objectStorageFromSettings({ ...base, OBJECT_STORE_URL: 'http://h:1' }), /OBJECT_STORE_ACCESS_KEY_FILE and OBJECT_STORE_SECRET_KEY_FILE are required/);
    const files = { OBJECT_STORE_URL: 'http://h:1', OBJECT_STORE_ACCESS_KEY_FILE: '/a', OBJECT_STORE_SECRET_KEY_FILE: '/s' };
    assert.throws(() => objectStorageFromSettings({ ...base, ...files, DATA_RESIDENCY: { default: 'mars', tenants: {} } }), /default: expected a region/);
  });

  it('takes _REF keys only through the secrets layer, and then needs both keys from it', () => {
    const refs = { OBJECT_STORE_URL: 'http://h:1', OBJECT_STORE_ACCESS_KEY_REF: 'vault:kv/data/s3#a', OBJECT_STORE_SECRET_KEY_REF: 'vault:kv/data/s3#s' };
    assert.throws(() => objectStorageFromSettings({ ...base, ...refs }), /OBJECT_STORE_ACCESS_KEY_REF and OBJECT_STORE_SECRET_KEY_REF: a secret reference needs the secrets layer/);
    const both = { reader: () => () => 'k' };
    assert.ok(objectStorageFromSettings({ ...base, ...refs }, both));
    const one = { reader: (name: string) => (name === 'OBJECT_STORE_ACCESS_KEY' ? () => 'k' : undefined) };
    assert.throws(() => objectStorageFromSettings({ ...base, ...refs }, one), /OBJECT_STORE_SECRET_KEY_FILE \(or _REF\)/);
  });
});
