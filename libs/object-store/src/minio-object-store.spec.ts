import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { MinioObjectStore } from './minio-object-store';

const keys = { accessKey: 'a', secretKey: 'b' };

describe('MinioObjectStore options', () => {
  it('accepts http and https endpoints, with or without a port', () => {
    assert.ok(new MinioObjectStore({ url: 'http://127.0.0.1:9000', ...keys }));
    assert.ok(new MinioObjectStore({ url: 'https://s3.eu-west-1.amazonaws.com', ...keys, region: 'eu-west-1' }));
    assert.ok(new MinioObjectStore({ url: 'http://[::1]:9000/', ...keys }));
  });

  it('refuses a URL that is not one, another scheme, credentials, a path or a query', () => {
    assert.throws(() => new MinioObjectStore({ url: 'localhost:9000', ...keys }), /must use http or https/);
    assert.throws(() => new MinioObjectStore({ url: 'nope', ...keys }), /is not a URL/);
    assert.throws(() => new MinioObjectStore({ url: 's3://bucket', ...keys }), /must use http or https, not s3/);
    assert.throws(() => new MinioObjectStore({ url: 'http://k:s@host:9000', ...keys }), /must not carry credentials/);
    assert.throws(() => new MinioObjectStore({ url: 'http://host:9000/bucket', ...keys }), /must have no path or query/);
    assert.throws(() => new MinioObjectStore({ url: 'http://host:9000/?x=1', ...keys }), /must have no path or query/);
  });

  it('needs either both keys or a credentials callback', () => {
    const credentials = async () => keys;
    assert.ok(new MinioObjectStore({ url: 'http://h:1', credentials }));
    assert.throws(() => new MinioObjectStore({ url: 'http://h:1' }), /either accessKey and secretKey, or credentials/);
    assert.throws(() => new MinioObjectStore({ url: 'http://h:1', ...keys, credentials }), /not both/);
    assert.throws(() => new MinioObjectStore({ url: 'http://h:1', accessKey: 'a' }), /must both be non-empty/);
    assert.throws(() => new MinioObjectStore({ url: 'http://h:1', accessKey: '', secretKey: 'b' }), /must both be non-empty/);
  });

  it('a store pinned to a region refuses buckets in another region', async () => {
    const store = new MinioObjectStore({ url: 'http://127.0.0.1:1', ...keys, region: 'eu-west-1' });
    await assert.rejects(store.ensureBucket('b-us-east-1', 'us-east-1'), /belongs in us-east-1, but this object store is pinned to region eu-west-1/);
  });

  it('refuses metadata that cannot travel as a header', async () => {
    const store = new MinioObjectStore({ url: 'http://127.0.0.1:1', ...keys });
    await assert.rejects(store.putObject('bucket', 'k', 'x', { metadata: { 'Bad Name': 'x' } }), /invalid object metadata name "Bad Name"/);
    await assert.rejects(store.putObject('bucket', 'k', 'x', { metadata: { 'content-type': 'x' } }), /invalid object metadata name/);
    await assert.rejects(store.putObject('bucket', 'k', 'x', { metadata: { note: 'naïve' } }), /must be printable ASCII/);
    await assert.rejects(store.putObject('bucket', 'k', 'x', { metadata: { note: 'a\r\nb' } }), /must be printable ASCII/);
  });
});
