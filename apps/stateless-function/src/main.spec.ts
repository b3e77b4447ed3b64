import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { checkEnvironment } from './main';

describe('the production check inside Lambda (checkEnvironment)', () => {
  const lambdaEnv = {
    NODE_ENV: 'production',
    AWS_ACCESS_KEY_ID: 'ASIAEXAMPLEEXAMPLE12',
    AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
    AWS_SESSION_TOKEN: 'IQoJb3JpZ2luX2VjEXAMPLE',
    PARAMETERS_SECRETS_EXTENSION_CACHE_ENABLED: 'true',
    KEELSON_API_KEYS_SECRET_ID: 'keelson/api-keys',
    OPENAI_API_KEY_SECRET_ID: 'keelson/openai',
  };

  it("starts with Lambda's own credentials, the extension's settings and *_SECRET_ID pointers in the environment", () => {
    assert.deepEqual(checkEnvironment(lambdaEnv), []);
  });

  it('refuses in production an API key given as a value, as every service does', () => {
    assert.throws(() => checkEnvironment({ ...lambdaEnv, OPENAI_API_KEY: 'sk-proj-abcdefghijklmnopqrstuvwxyz012345' }), /OPENAI_API_KEY/);
  });
});
