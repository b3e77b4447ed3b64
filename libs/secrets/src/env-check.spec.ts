import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { SecretsInEnvError, assertNoSecretsInEnv, findSecretsInEnv, isProduction } from './env-check';

const names = (env: Record<string, string>): string[] => findSecretsInEnv(env).map((f) => f.name);

describe('the production check for secrets in the environment', () => {
  it('flags names that say they hold a secret, not *_FILE / *_REF pointers or empty values', () => {
    const env = {
      OPENAI_API_KEY: 'x1', AWS_SECRET_ACCESS_KEY: 'x2', APP_SECRET: 'x3', OBJECT_STORE_SECRET_KEY: 'x4', DB_PASSWORD: 'x5',
      NATS_TOKEN: 'x6', SIGNING_PRIVATE_KEY: 'x7', VAULT_TOKEN: 'x8',
      OPENAI_API_KEY_FILE: '/run/secrets/openai', VAULT_TOKEN_FILE: '/vault/token', ANTHROPIC_API_KEY_REF: 'vault:kv/data/a#k',
      REDIS_PASSWORD: '', MAX_TOKENS: '100', TOKEN_BUDGET: '5', PORT: '3000',
    };
    assert.deepEqual(names(env), ['APP_SECRET', 'AWS_SECRET_ACCESS_KEY', 'DB_PASSWORD', 'NATS_TOKEN', 'OBJECT_STORE_SECRET_KEY', 'OPENAI_API_KEY', 'SIGNING_PRIVATE_KEY', 'VAULT_TOKEN']);
  });

  it('flags URLs with a password in them, under any name, and leaves plain URLs alone', () => {
    const env = {
      REDIS_URL: 'redis://:pw123@cache:6379', DATABASE_URL: 'postgres://app:pw@db/app', MONGODB_URL: 'mongodb+srv://u:p@cluster/x',
      NATS_URL: 'nats://127.0.0.1:4222', OTEL_URL: 'http://collector:4318/v1/traces', PLAIN_USER_URL: 'postgres://app@db/app',
    };
    assert.deepEqual(names(env), ['DATABASE_URL', 'MONGODB_URL', 'REDIS_URL']);
  });

  it('flags values shaped like provider keys whatever the name', () => {
    const env = {
      A: 'sk-proj-abcdefghijklmnopqrstuv', B: 'AKIAABCDEFGHIJKLMNOP', C: `ghp_${'a'.repeat(36)}`, D: 'xoxb-1234567890-abcdef',
      E: '-----BEGIN RSA PRIVATE KEY-----\nMIIE...', F: `hvs.${'b'.repeat(24)}`, OK: 'sk-short', G: 'just some text',
    };
    assert.deepEqual(names(env), ['A', 'B', 'C', 'D', 'E', 'F']);
  });

  it('in production throws a ConfigError listing the names, never the values', () => {
    const env = { NODE_ENV: 'production', OPENAI_API_KEY: 'sk-live-abcdefghijklmnopqrstuvwxyz', REDIS_URL: 'redis://:hunter2pw@cache:6379' };
    const err = (() => {
      try {
        assertNoSecretsInEnv(env);
      } catch (e) {
        return e;
      }
      return assert.fail('expected a throw');
    })();
    assert.ok(err instanceof SecretsInEnvError);
    assert.equal(err.name, 'ConfigError');
    assert.deepEqual(err.issues.map((i) => i.name), ['OPENAI_API_KEY', 'REDIS_URL']);
    assert.match(err.message, /OPENAI_API_KEY: .*OPENAI_API_KEY_FILE/);
    assert.ok(!err.message.includes('sk-live') && !err.message.includes('hunter2pw'), err.message);
  });

  it('KEELSON_ENV=production or the production option count as production; elsewhere it warns and returns', () => {
    assert.ok(isProduction({ KEELSON_ENV: 'production' }));
    assert.throws(() => assertNoSecretsInEnv({ KEELSON_ENV: 'production', X_TOKEN: 'abcd' }), SecretsInEnvError);
    assert.throws(() => assertNoSecretsInEnv({ X_TOKEN: 'abcd' }, { production: true }), SecretsInEnvError);
    const warnings = assertNoSecretsInEnv({ NODE_ENV: 'development', X_TOKEN: 'abcd-secret-value' });
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /^X_TOKEN carries a secret/);
    assert.ok(!warnings[0]!.includes('abcd-secret-value'));
    assert.deepEqual(assertNoSecretsInEnv({ NODE_ENV: 'production', OPENAI_API_KEY_FILE: '/run/secrets/k' }), []);
  });
});
