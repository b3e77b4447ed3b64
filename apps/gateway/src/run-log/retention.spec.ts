import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Streams } from '@keelson/contracts';
import { loadGatewayConfig } from '../config';
import { RetentionPolicy, parseDurationMs } from './retention';

const load = (env: Record<string, string>) => loadGatewayConfig({ KEELSON_API_KEYS_FILE: '/run/secrets/api-keys.json', ...env });

describe('run-log replay windows', () => {
  it('reads durations as seconds or with a unit', () => {
    assert.equal(parseDurationMs('90'), 90_000);
    assert.equal(parseDurationMs(90), 90_000);
    assert.equal(parseDurationMs('250ms'), 250);
    assert.equal(parseDurationMs('15m'), 900_000);
    assert.equal(parseDurationMs('2h'), 7_200_000);
    assert.equal(parseDurationMs('7d'), 604_800_000);
    for (const bad of ['', '0', '-5', '2 hours', '1.5h', 'h']) assert.equal(parseDurationMs(bad), undefined, bad);
  });

  it('defaults every tenant to the run log\'s max age', () => {
    const config = load({});
    assert.equal(config.RUN_LOG_RETENTION, Streams.runs.maxAgeMs);
    assert.deepEqual(config.RUN_LOG_RETENTION_BY_TENANT, {});
  });

  it('gives named tenants their own window and the rest the default', () => {
    const config = load({ RUN_LOG_RETENTION: '6h', RUN_LOG_RETENTION_BY_TENANT: '{"acme":"2h","beta":600}' });
    const policy = new RetentionPolicy(config.RUN_LOG_RETENTION, config.RUN_LOG_RETENTION_BY_TENANT);
    assert.equal(policy.windowMs('acme'), 7_200_000);
    assert.equal(policy.windowMs('beta'), 600_000);
    assert.equal(policy.windowMs('dev'), 21_600_000);
    assert.equal(policy.horizon('acme', 10_000_000).getTime(), 2_800_000);
  });

  it('refuses a bad window, naming the setting and the tenant', () => {
    assert.throws(() => load({ RUN_LOG_RETENTION: 'forever' }), /RUN_LOG_RETENTION/);
    assert.throws(() => load({ RUN_LOG_RETENTION_BY_TENANT: '["acme"]' }), /RUN_LOG_RETENTION_BY_TENANT/);
    assert.throws(() => load({ RUN_LOG_RETENTION_BY_TENANT: '{"acme":"soon"}' }), (err: Error) =>
      /RUN_LOG_RETENTION_BY_TENANT/.test(err.message) && /acme/.test(err.message),
    );
  });
});
