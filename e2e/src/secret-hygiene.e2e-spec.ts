import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeVault, type FakeVault } from '@keelson/secrets/dist/testing/fake-vault';
import { startFakeOpenAI, type FakeOpenAIHandle } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

/**
 * After a run that used secrets from both providers (the OpenAI key from Vault, the object store's keys and
 * every service's NATS seed from files), no secret is in any service's log, in any answer (errors included),
 * or in any service process's environment.
 */
describe('secret hygiene: no secret in logs, answers or process environments', () => {
  let vault: FakeVault;
  let openai: FakeOpenAIHandle;
  let mesh: Mesh;
  const answers: string[] = [];
  // sk- and a random tail: what a provider key looks like, and what the env check would flag.
  const openaiKey = `sk-hygiene-${randomBytes(16).toString('hex')}`;

  before(async () => {
    vault = await startFakeVault();
    vault.put('secret', 'keelson/openai', { api_key: openaiKey });
    openai = await startFakeOpenAI(() => ({ text: ['the answer'] }), { apiKey: openaiKey });
    const dir = mkdtempSync(join(tmpdir(), 'keelson-e2e-hygiene-'));
    writeFileSync(join(dir, 'vault-token'), vault.rootToken);
    mkdirSync(join(dir, 'agents'));
    writeFileSync(
      join(dir, 'agents', 'writer.json'),
      JSON.stringify({
        id: 'writer',
        version: '1',
        description: 'answers on the OpenAI provider',
        model: { provider: 'openai', name: 'gpt-test' },
        systemPrompt: 'Answer.',
        tools: [],
        limits: { maxOutputTokens: 256, maxSteps: 2, timeoutMs: 30_000 },
      }),
    );
    mesh = await startMesh({
      env: {
        AGENTS_DIR: join(dir, 'agents'),
        OPENAI_BASE_URL: openai.baseUrl,
        OPENAI_API_KEY_REF: 'vault:secret/data/keelson/openai#api_key',
        VAULT_ADDR: vault.url,
        VAULT_TOKEN_FILE: join(dir, 'vault-token'),
      },
    });
    const api = client(mesh.base);
    const record = async (res: Promise<{ status: number; body: unknown }>) => answers.push(JSON.stringify(await res));
    await record(api.post('/v1/agents/writer/invoke', { input: 'hello' }));
    await record(api.post('/v1/agents/writer/invoke', { input: 42 }));
    await record(api.post('/v1/tasks', { agentId: 'writer', input: 'a task' }));
    await record(api.post('/v1/agents/assistant/invoke', { input: '__fail__' }));
    await record(client(mesh.base, `ks_wrong_${openaiKey}`).get('/v1/tasks/tsk_none'));
    await record(client(mesh.base, vault.rootToken).get('/v1/tasks/tsk_none'));
  });
  after(async () => {
    await mesh?.stop();
    await openai?.stop();
    await vault?.close();
  });

  /** Every secret of the run: the Vault token, the OpenAI key, the S3 keys, each NATS seed. */
  function secrets(): Array<[string, string]> {
    const auth = mesh.natsAuth;
    const identities = auth ? [auth.operator, ...Object.values(auth.services), ...Object.values(auth.tenants)] : [];
    return [
      ['the Vault token', vault.rootToken],
      ['the OpenAI key', openaiKey],
      ['the S3 access key', mesh.s3.accessKey],
      ['the S3 secret key', mesh.s3.secretKey],
      // A service's file holds two seeds (its own and its responder's): each is looked for on its own.
      ...identities.flatMap((id) =>
        readFileSync(id.seedFile, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean).map((seed, line): [string, string] => [`the NATS seed ${id.seedFile}:${line + 1}`, seed]),
      ),
    ];
  }

  it('used the key from Vault: the model provider was called with it', () => {
    assert.ok(answers[0]!.includes('the answer'), answers[0]);
    assert.ok(openai.requests.length >= 1);
  });

  it('leaves no secret in any answer, error answers included', () => {
    for (const [what, value] of secrets()) {
      for (const answer of answers) assert.ok(!answer.includes(value), `${what} in an answer: ${answer.slice(0, 200)}`);
    }
  });

  it("leaves no secret in any service's log", () => {
    const logs = [...mesh.apps].map(([name, app]) => [name, app.logs().join('\n')] as const);
    assert.ok(logs.every(([, text]) => text.length > 0), 'every service logged something');
    for (const [what, value] of secrets()) {
      for (const [name, text] of logs) assert.ok(!text.includes(value), `${what} in the log of ${name}`);
    }
  });

  it("leaves no secret in any service process's environment", () => {
    for (const [name, app] of mesh.apps) {
      const environ = readFileSync(`/proc/${app.pid}/environ`, 'utf8');
      for (const [what, value] of secrets()) assert.ok(!environ.includes(value), `${what} in the environment of ${name}`);
    }
  });
});
