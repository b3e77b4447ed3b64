import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MinioObjectStore } from './minio-object-store';

const minioLoaded = (): boolean => Object.keys(require.cache).some((file) => /[\\/]node_modules[\\/]minio[\\/]/.test(file));

describe('MinioObjectStore loads minio on first use', () => {
  it('building the store loads nothing of minio; the first use of its client does', () => {
    const store = new MinioObjectStore({ url: 'http://127.0.0.1:1', credentials: async () => ({ accessKey: 'a', secretKey: 'b' }) });
    assert.equal(minioLoaded(), false, 'minio was loaded by building the store');
    assert.equal(typeof store.client.putObject, 'function');
    assert.equal(minioLoaded(), true, 'minio was not loaded by the first use of the client');
    assert.equal(store.client, store.client, 'one client per store');
  });
});
