import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { ConfigError } from './config-error';
import { httpSettingsSchema } from './http-settings';
import { loadConfig } from './load-config';

function failure(env: Record<string, string>): string {
  try {
    loadConfig(httpSettingsSchema, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected loadConfig to throw');
}

describe('httpSettings', () => {
  it('defaults to the documented limits and timeouts, CORS off', () => {
    assert.deepEqual(loadConfig(httpSettingsSchema, {}), {
      HTTP_REQUEST_TIMEOUT_MS: 30_000,
      HTTP_HEADERS_TIMEOUT_MS: 10_000,
      HTTP_KEEP_ALIVE_TIMEOUT_MS: 72_000,
      HTTP_CONNECTION_TIMEOUT_MS: 0,
      HTTP_MAX_HEADER_BYTES: 16_384,
      HTTP_MAX_URL_LENGTH: 4_096,
      HTTP_MAX_JSON_DEPTH: 64,
      HTTP_LISTEN_BACKLOG: 4_096,
      CORS_ALLOWED_ORIGINS: [],
      CORS_MAX_AGE_SECONDS: 600,
    });
  });

  it('reads CORS_ALLOWED_ORIGINS as a trimmed comma list of origins, or * alone', () => {
    const config = loadConfig(httpSettingsSchema, { CORS_ALLOWED_ORIGINS: 'https://app.example.com, http://localhost:5173' });
    assert.deepEqual(config.CORS_ALLOWED_ORIGINS, ['https://app.example.com', 'http://localhost:5173']);
    assert.deepEqual(loadConfig(httpSettingsSchema, { CORS_ALLOWED_ORIGINS: '*' }).CORS_ALLOWED_ORIGINS, ['*']);
  });

  it('refuses an origin with a path or trailing slash, a non-http scheme, or * among others, naming the setting', () => {
    for (const bad of ['https://app.example.com/', 'https://app.example.com/ui', 'ftp://x.example.com', '*,https://a.example.com', 'app.example.com']) {
      assert.match(failure({ CORS_ALLOWED_ORIGINS: bad }), /CORS_ALLOWED_ORIGINS/, `expected ${bad} to be refused`);
    }
  });

  it('refuses a request timeout below one second and a JSON depth of 0', () => {
    assert.match(failure({ HTTP_REQUEST_TIMEOUT_MS: '500' }), /HTTP_REQUEST_TIMEOUT_MS/);
    assert.match(failure({ HTTP_MAX_JSON_DEPTH: '0' }), /HTTP_MAX_JSON_DEPTH/);
  });
});
