import { strict as assert } from 'node:assert';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { awsSecretFiles } from './aws-secrets';

/** Stands in for the AWS Parameters and Secrets Lambda Extension (the AWS boundary): its route and token check. */
function extension(secrets: Record<string, string>): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const id = url.searchParams.get('secretId') ?? '';
    if (url.pathname !== '/secretsmanager/get' || req.headers['x-aws-parameters-secrets-token'] !== 'session-token') {
      res.writeHead(401).end();
      return;
    }
    if (!(id in secrets)) {
      res.writeHead(400).end('{"__type":"ResourceNotFoundException"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ Name: id, SecretString: secrets[id] }));
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ server, url: `http://127.0.0.1:${(server.address() as AddressInfo).port}` })));
}

describe('secrets from Secrets Manager as files (awsSecretFiles)', () => {
  let ext: { server: Server; url: string };
  const dir = mkdtempSync(join(tmpdir(), 'keelson-fn-secrets-'));
  before(async () => {
    ext = await extension({ 'keelson/openai': 'sk-from-sm', 'keelson/bundle': JSON.stringify({ anthropic: 'sk-ant-1' }) });
  });
  after(() => {
    ext.server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes each <NAME>_SECRET_ID to a 0600 file and answers <NAME>_FILE; `#field` takes one field of a JSON secret', async () => {
    const files = await awsSecretFiles(
      { OPENAI_API_KEY_SECRET_ID: 'keelson/openai', ANTHROPIC_API_KEY_SECRET_ID: 'keelson/bundle#anthropic', AWS_SESSION_TOKEN: 'session-token' },
      { dir, endpoint: ext.url },
    );
    assert.deepEqual(Object.keys(files).sort(), ['ANTHROPIC_API_KEY_FILE', 'OPENAI_API_KEY_FILE']);
    assert.equal(readFileSync(files['OPENAI_API_KEY_FILE']!, 'utf8'), 'sk-from-sm');
    assert.equal(readFileSync(files['ANTHROPIC_API_KEY_FILE']!, 'utf8'), 'sk-ant-1');
    assert.equal(statSync(files['OPENAI_API_KEY_FILE']!).mode & 0o777, 0o600);
  });

  it('does nothing without *_SECRET_ID, and fails naming the setting for a secret it cannot read', async () => {
    assert.deepEqual(await awsSecretFiles({ KEELSON_API_KEYS_FILE: '/opt/keys.json' }), {});
    await assert.rejects(
      awsSecretFiles({ OPENAI_API_KEY_SECRET_ID: 'keelson/missing', AWS_SESSION_TOKEN: 'session-token' }, { dir, endpoint: ext.url }),
      /OPENAI_API_KEY_SECRET_ID: the secrets extension answered 400/,
    );
    await assert.rejects(awsSecretFiles({ OPENAI_API_KEY_SECRET_ID: 'x', OPENAI_API_KEY_FILE: '/f', AWS_SESSION_TOKEN: 't' }, { dir, endpoint: ext.url }), /choose one/);
  });
});
