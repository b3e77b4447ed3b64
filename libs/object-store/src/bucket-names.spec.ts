import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { bucketNameProblem, regionalBucket } from './bucket-names';
import { BucketNameError } from './errors';

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof BucketNameError, `expected a BucketNameError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('regionalBucket', () => {
  it('builds {account}-{region}-keelson-{purpose}', () => {
    assert.equal(regionalBucket({ account: 'acme', region: 'eu-west-1', purpose: 'audit' }), 'acme-eu-west-1-keelson-audit');
    assert.equal(regionalBucket({ account: 'local', region: 'us-east-1', purpose: 'payloads' }), 'local-us-east-1-keelson-payloads');
    assert.equal(regionalBucket({ account: 'acme-prod2', region: 'ap-southeast-2', purpose: 'archives' }), 'acme-prod2-ap-southeast-2-keelson-archives');
    assert.equal(regionalBucket({ account: '7', region: 'us-gov-west-1', purpose: 'audit' }), '7-us-gov-west-1-keelson-audit');
  });

  it('names the account when it has capitals, dots, underscores, edge or double hyphens, or is empty', () => {
    for (const account of ['Acme', 'acme.corp', 'acme_corp', '-acme', 'acme-', 'ac--me', '', 'a b']) {
      rejects(() => regionalBucket({ account, region: 'eu-west-1', purpose: 'audit' }), /bucket account ".*" is invalid/);
    }
  });

  it('names the region when it is not a region', () => {
    for (const region of ['eu-west', 'EU-WEST-1', 'euwest1', 'eu_west_1', 'e-west-1', 'eu-west-1-', '', 'eu-west-123']) {
      rejects(() => regionalBucket({ account: 'acme', region, purpose: 'audit' }), /bucket region ".*" is invalid/);
    }
  });

  it('names the purpose when it is not one of payloads, archives, audit', () => {
    rejects(() => regionalBucket({ account: 'acme', region: 'eu-west-1', purpose: 'logs' as never }), /bucket purpose "logs" is invalid: expected one of payloads, archives, audit/);
  });

  it('rejects a name over 63 characters and says to shorten the account', () => {
    rejects(
      () => regionalBucket({ account: 'a'.repeat(40), region: 'eu-west-1', purpose: 'archives' }),
      /is 67 characters long; S3 allows 3 to 63: shorten the account/,
    );
    const fits = 'a'.repeat(63 - '-eu-west-1-keelson-archives'.length);
    assert.equal(regionalBucket({ account: fits, region: 'eu-west-1', purpose: 'archives' }).length, 63);
  });

  it('rejects names S3 reserves', () => {
    rejects(() => regionalBucket({ account: 'amzn-s3-demo-acme', region: 'eu-west-1', purpose: 'audit' }), /must not begin with amzn-s3-demo-/);
    rejects(() => regionalBucket({ account: 'sthree-acme', region: 'eu-west-1', purpose: 'audit' }), /must not begin with sthree-/);
  });
});

describe('bucketNameProblem', () => {
  it('accepts valid names and explains every rule it enforces', () => {
    assert.equal(bucketNameProblem('abc'), undefined);
    assert.match(bucketNameProblem('ab')!, /3 to 63/);
    assert.match(bucketNameProblem('a'.repeat(64))!, /64 characters/);
    assert.match(bucketNameProblem('192.168.1.1')!, /IP address/);
    assert.match(bucketNameProblem('my.bucket')!, /lowercase letters, digits and hyphens/);
    assert.match(bucketNameProblem('My-bucket')!, /lowercase letters, digits and hyphens/);
    assert.match(bucketNameProblem('-bucket')!, /begin and end/);
    assert.match(bucketNameProblem('bucket-')!, /begin and end/);
    assert.match(bucketNameProblem('xn--bucket')!, /must not begin with xn--/);
    assert.match(bucketNameProblem('thing-s3alias')!, /must not end with -s3alias/);
    assert.match(bucketNameProblem('thing--ol-s3')!, /must not end with --ol-s3/);
  });
});
