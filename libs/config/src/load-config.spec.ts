import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { z } from 'zod';
import { baseServiceConfig } from './base-service-config';
import { ConfigError } from './config-error';
import { port } from './fields';
import { loadConfig } from './load-config';

/** Runs loadConfig expecting a ConfigError and returns its message. */
function failure(schema: z.ZodObject, env: Record<string, string | undefined>): string {
  try {
    loadConfig(schema, env);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected a ConfigError, got ${String(err)}`);
    return err.message;
  }
  assert.fail('expected loadConfig to throw');
}

const serviceConfig = baseServiceConfig.extend({ ...port('PORT', 3000) });

describe('loadConfig defaults', () => {
  it('fills every base field from its default when the environment is empty', () => {
    assert.deepEqual(loadConfig(serviceConfig, {}), {
      NATS_URL: 'nats://127.0.0.1:4222',
      JETSTREAM_REPLICAS: 1,
      REDIS_URL: 'redis://127.0.0.1:6379',
      LOG_LEVEL: 'info',
      OTEL_TRACES_SAMPLER_ARG: 1,
      NODE_ENV: 'development',
      EGRESS_ALLOW_ADDRESSES: [],
      SHUTDOWN_DRAIN_MS: 0,
      GUARD_POLICY_TTL_MS: 60_000,
      OBJECT_STORE_ACCOUNT: 'local',
      DATA_RESIDENCY: { default: 'us-east-1', tenants: {} },
      AUDIT_OFFLOAD_THRESHOLD_BYTES: 8_192,
      PORT: 3000,
    });
  });

  it("takes a cluster's NATS URLs comma-separated, and JETSTREAM_REPLICAS", () => {
    const config = loadConfig(serviceConfig, { NATS_URL: 'nats://n1:4222,nats://n2:4222, nats://n3:4222', JETSTREAM_REPLICAS: '3' });
    assert.equal(config.NATS_URL, 'nats://n1:4222,nats://n2:4222, nats://n3:4222');
    assert.equal(config.JETSTREAM_REPLICAS, 3);
  });

  it('treats an empty string as unset, so the default applies', () => {
    const config = loadConfig(serviceConfig, { PORT: '', LOG_LEVEL: '', OTEL_EXPORTER_OTLP_ENDPOINT: '' });
    assert.equal(config.PORT, 3000);
    assert.equal(config.LOG_LEVEL, 'info');
    assert.equal(config.OTEL_EXPORTER_OTLP_ENDPOINT, undefined);
  });

  it('parses given values into their types', () => {
    const config = loadConfig(serviceConfig, {
      NATS_URL: 'tls://nats.example:4222',
      REDIS_URL: 'rediss://cache:6380',
      LOG_LEVEL: 'debug',
      SERVICE_NAME: 'gateway',
      OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318',
      OTEL_TRACES_SAMPLER_ARG: '0.25',
      NODE_ENV: 'production',
      PORT: '0',
    });
    assert.equal(config.NATS_URL, 'tls://nats.example:4222');
    assert.equal(config.REDIS_URL, 'rediss://cache:6380');
    assert.equal(config.SERVICE_NAME, 'gateway');
    assert.equal(config.OTEL_TRACES_SAMPLER_ARG, 0.25);
    assert.equal(config.PORT, 0);
  });

  it('ignores variables the schema does not name', () => {
    assert.equal('HOME' in loadConfig(serviceConfig, { HOME: '/root' }), false);
  });
});

describe('loadConfig rejections', () => {
  const bad: [string, string, string][] = [
    ['PORT', '65536', 'PORT: expected an integer between 0 and 65535'],
    ['PORT', '-1', 'PORT: expected an integer between 0 and 65535'],
    ['PORT', '80.5', 'PORT: expected an integer between 0 and 65535'],
    ['PORT', '0x50', 'PORT: expected an integer between 0 and 65535'],
    ['NATS_URL', 'http://127.0.0.1:4222', 'NATS_URL: expected a nats:// or tls:// URL'],
    ['NATS_URL', 'not a url', 'NATS_URL: expected a nats:// or tls:// URL'],
    ['NATS_URL', 'nats://a:4222,http://b:4222', 'NATS_URL: expected a nats:// or tls:// URL'],
    ['JETSTREAM_REPLICAS', '0', 'JETSTREAM_REPLICAS: expected an integer between 1 and 5'],
    ['JETSTREAM_REPLICAS', '6', 'JETSTREAM_REPLICAS: expected an integer between 1 and 5'],
    ['REDIS_URL', 'nats://127.0.0.1:6379', 'REDIS_URL: expected a redis:// or rediss:// URL'],
    ['LOG_LEVEL', 'verbose', 'LOG_LEVEL: expected one of error, warn, info, debug'],
    ['OTEL_EXPORTER_OTLP_ENDPOINT', 'collector:4318', 'OTEL_EXPORTER_OTLP_ENDPOINT: expected an http:// or https:// URL'],
    ['OTEL_TRACES_SAMPLER_ARG', '1.5', 'OTEL_TRACES_SAMPLER_ARG: expected a number between 0 and 1'],
    ['OTEL_TRACES_SAMPLER_ARG', 'half', 'OTEL_TRACES_SAMPLER_ARG: expected a number between 0 and 1'],
    ['NODE_ENV', 'staging', 'NODE_ENV: expected one of development, test, production'],
  ];
  for (const [name, value, expected] of bad) {
    it(`rejects ${name}=${value}`, () => {
      assert.match(failure(serviceConfig, { [name]: value }), new RegExp(`^  - ${escape(expected)}`, 'm'));
    });
  }

  it('formats the message as a list headed "Invalid configuration:"', () => {
    assert.equal(
      failure(serviceConfig, { PORT: 'http' }),
      'Invalid configuration:\n  - PORT: expected an integer between 0 and 65535 (got "http")',
    );
  });

  it('lists every bad variable at once, not only the first', () => {
    const message = failure(serviceConfig, { PORT: 'x', LOG_LEVEL: 'loud', NATS_URL: 'http://x' });
    assert.match(message, /- NATS_URL:/);
    assert.match(message, /- LOG_LEVEL:/);
    assert.match(message, /- PORT:/);
  });

  it('says a required variable is not set', () => {
    const schema = baseServiceConfig.extend({ AGENTS_DIR: z.string() });
    assert.match(failure(schema, { AGENTS_DIR: '' }), /- AGENTS_DIR: required but not set$/m);
  });
});

describe('loadConfig secret masking', () => {
  const schema = z.object({
    API_KEY: z.string().min(32),
    DB_PASSWORD: z.string().refine((v) => v.startsWith('pw-'), { error: (i) => `bad password ${String(i.input)}` }),
    access_token: z.string().regex(/^tok_/),
    DATABASE_URL: z.string().startsWith('postgres://'),
  });
  const env = {
    API_KEY: 'sk-short-but-secret',
    DB_PASSWORD: 'hunter2-secret',
    access_token: 'plain-leaked-token',
    DATABASE_URL: 'mysql://ada:s3cr3t-pw@db:3306/app',
  };
  const message = failure(schema, env);

  it('names each bad secret without its value', () => {
    assert.match(message, /- API_KEY: /);
    assert.match(message, /- DB_PASSWORD: /);
    assert.match(message, /- access_token: /);
    for (const value of [env.API_KEY, env.DB_PASSWORD, env.access_token]) {
      assert.equal(message.includes(value), false, `message leaks ${value}:\n${message}`);
    }
  });

  it('scrubs a secret even when a custom message quotes it', () => {
    assert.match(message, /- DB_PASSWORD: bad password \*\*\*$/m);
  });

  it('shows an ordinary value but masks the password inside a URL', () => {
    assert.match(message, /- DATABASE_URL: .*\(got "mysql:\/\/ada:\*\*\*@db:3306\/app"\)/);
    assert.equal(message.includes('s3cr3t-pw'), false);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}
