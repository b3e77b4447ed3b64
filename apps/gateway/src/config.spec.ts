import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { loadGatewayConfig } from './config';

describe('gateway configuration', () => {
  it('has documented defaults: port 8080, 1 MiB bodies, one-hour sessions', () => {
    const config = loadGatewayConfig({ KEELSON_API_KEYS_FILE: '/run/secrets/api-keys.json' });
    assert.equal(config.PORT, 8080);
    assert.equal(config.BODY_LIMIT_BYTES, 1_048_576);
    assert.equal(config.SESSION_TTL_SECONDS, 3_600);
    assert.equal(config.NATS_URL, 'nats://127.0.0.1:4222');
  });

  it('refuses to start without an API keys file, and names every bad setting', () => {
    assert.throws(
      () => loadGatewayConfig({ PORT: 'eighty', BODY_LIMIT_BYTES: '12' }),
      (err: Error) =>
        /KEELSON_API_KEYS_FILE/.test(err.message) && /PORT/.test(err.message) && /BODY_LIMIT_BYTES/.test(err.message),
    );
  });
});
