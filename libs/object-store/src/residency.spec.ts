import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ResidencyConfigError } from './errors';
import { ResidencyPolicy } from './residency';

function configError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ResidencyConfigError, `expected a ResidencyConfigError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('ResidencyPolicy', () => {
  const policy = ResidencyPolicy.fromJson('{"default":"eu-west-1","tenants":{"acme":"us-east-1"}}');

  it('puts a listed tenant in its region and everyone else in the default', () => {
    assert.equal(policy.regionFor('acme'), 'us-east-1');
    assert.equal(policy.regionFor('globex'), 'eu-west-1');
    assert.deepEqual(policy.regions(), ['eu-west-1', 'us-east-1']);
  });

  it('bucketFor gives the regional bucket and its region', () => {
    assert.deepEqual(policy.bucketFor('acme', 'audit', 'keel'), { bucket: 'keel-us-east-1-keelson-audit', region: 'us-east-1' });
    assert.deepEqual(policy.bucketFor('globex', 'payloads', 'keel'), { bucket: 'keel-eu-west-1-keelson-payloads', region: 'eu-west-1' });
  });

  it('tenants are optional', () => {
    assert.equal(ResidencyPolicy.fromJson('{"default":"us-east-1"}').regionFor('x'), 'us-east-1');
  });

  it('refuses a bad tenant id instead of building a key from it', () => {
    assert.throws(() => policy.regionFor('../etc'), /invalid tenant id "..\/etc"/);
    assert.throws(() => policy.bucketFor('A', 'audit', 'keel'), /invalid tenant id/);
  });

  it('passes a bad account on as a BucketNameError naming the account', () => {
    assert.throws(() => policy.bucketFor('acme', 'audit', 'Keel'), /bucket account "Keel" is invalid/);
  });

  it('reports malformed JSON, a bad default, a bad tenant region, a bad tenant id and unknown keys', () => {
    configError(() => ResidencyPolicy.fromJson('{'), /not JSON/);
    configError(() => ResidencyPolicy.fromJson('{"tenants":{}}'), /default: /);
    configError(() => ResidencyPolicy.fromJson('{"default":"Europe"}'), /default: expected a region such as eu-west-1/);
    configError(() => ResidencyPolicy.fromJson('{"default":"eu-west-1","tenants":{"acme":"mars"}}'), /tenants\.acme: expected a region/);
    configError(() => ResidencyPolicy.fromJson('{"default":"eu-west-1","tenants":{"Bad Tenant":"us-east-1"}}'), /tenants\.Bad Tenant: expected a tenant id/);
    configError(() => ResidencyPolicy.fromJson('{"default":"eu-west-1","region":"x"}'), /region/);
    configError(() => ResidencyPolicy.fromJson('[]'), /\(root\)/);
    configError(() => ResidencyPolicy.fromJson('null'), /\(root\)/);
  });
});
