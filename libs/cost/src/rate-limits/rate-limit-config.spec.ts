import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { loadConfig } from '@keelson/config';
import { z } from 'zod';
import { parseRateLimitSettings, rateLimitConfig, rulesFor } from './rate-limit-config';

const schema = z.object({ ...rateLimitConfig });

describe('rate-limit configuration', () => {
  it('is off by default: no rules for any tenant', () => {
    const settings = parseRateLimitSettings({});
    assert.deepEqual(settings, {
      RATE_LIMIT_TENANT_RPM: 0,
      RATE_LIMIT_TENANT_TPM: 0,
      RATE_LIMIT_KEY_RPM: 0,
      RATE_LIMIT_KEY_TPM: 0,
      RATE_LIMITS_BY_TENANT: {},
    });
    assert.deepEqual(rulesFor(settings, 'acme'), []);
  });

  it('turns each non-zero setting into one rule, tenant before key, requests before tokens', () => {
    const settings = parseRateLimitSettings({ RATE_LIMIT_TENANT_RPM: '600', RATE_LIMIT_KEY_RPM: '60', RATE_LIMIT_KEY_TPM: '100000' });
    assert.deepEqual(rulesFor(settings, 'acme'), [
      { scope: 'tenant', kind: 'requests', perMinute: 600 },
      { scope: 'key', kind: 'requests', perMinute: 60 },
      { scope: 'key', kind: 'tokens', perMinute: 100_000 },
    ]);
  });

  it('lets a tenant override single limits, 0 switching one off, and leaves other tenants on the global settings', () => {
    const settings = parseRateLimitSettings({
      RATE_LIMIT_TENANT_RPM: '600',
      RATE_LIMIT_TENANT_TPM: '50000',
      RATE_LIMITS_BY_TENANT: '{"acme":{"tenantRpm":6000,"tenantTpm":0,"keyRpm":10}}',
    });
    assert.deepEqual(rulesFor(settings, 'acme'), [
      { scope: 'tenant', kind: 'requests', perMinute: 6_000 },
      { scope: 'key', kind: 'requests', perMinute: 10 },
    ]);
    assert.deepEqual(rulesFor(settings, 'beta'), [
      { scope: 'tenant', kind: 'requests', perMinute: 600 },
      { scope: 'tenant', kind: 'tokens', perMinute: 50_000 },
    ]);
  });

  it('refuses a bad override naming the variable, the tenant and the field', () => {
    const cases: [string, RegExp][] = [
      ['not json', /RATE_LIMITS_BY_TENANT: expected a JSON object/],
      ['[1]', /RATE_LIMITS_BY_TENANT: expected a JSON object/],
      ['{"acme":5}', /RATE_LIMITS_BY_TENANT: acme: expected an object/],
      ['{"acme":{"tenantRpm":-1}}', /RATE_LIMITS_BY_TENANT: acme\.tenantRpm: expected a whole number >= 0/],
      ['{"acme":{"keyTpm":1.5}}', /acme\.keyTpm: expected a whole number/],
      ['{"acme":{"rpm":5}}', /acme\.rpm: unknown field/],
      ['{"Not A Tenant":{}}', /"Not A Tenant" is not a tenant id/],
    ];
    for (const [value, expected] of cases) {
      assert.throws(() => loadConfig(schema, { RATE_LIMITS_BY_TENANT: value }), (err: Error) => expected.test(err.message), value);
    }
  });

  it('refuses a limit that is not a whole number, naming the variable', () => {
    assert.throws(() => loadConfig(schema, { RATE_LIMIT_TENANT_RPM: 'lots' }), /RATE_LIMIT_TENANT_RPM/);
  });
});
