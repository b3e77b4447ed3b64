import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  startApp,
  startNats,
  startRedis,
  waitFor,
  type AppHandle,
  type NatsServerHandle,
  type RedisServerHandle,
} from '@keelson/testing';
import { hashApiKey } from '../auth/api-keys';

const KEY = 'ks_test_agent_files_key';

const agentYaml = (id: string, version: string) => `id: ${id}
version: "${version}"
description: Added while the gateway runs
model: { provider: offline, name: offline-echo }
systemPrompt: Be brief.
limits: { maxOutputTokens: 100, maxSteps: 1, timeoutMs: 5000 }
`;

/** The gateway with AGENTS_DIR: agents come from files, and a file added after start is routable without a restart. */
describe('gateway with an agent directory', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let gateway: AppHandle;
  let base: string;
  let agentsDir: string;

  const createSession = async (agentId: string) => {
    const res = await fetch(`${base}/v1/sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ agentId }),
    });
    await res.body?.cancel();
    return res.status;
  };

  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const root = mkdtempSync(join(tmpdir(), 'gw-agents-'));
    const keysFile = join(root, 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 't', tenant: 'dev', sha256: hashApiKey(KEY), scopes: ['*'] }] }));
    agentsDir = join(root, 'agents');
    mkdirSync(agentsDir);
    writeFileSync(join(agentsDir, 'first.yaml'), agentYaml('first', '1'));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startApp({
      name: 'gateway',
      env: {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        PORT: String(port),
        KEELSON_API_KEYS_FILE: keysFile,
        AGENTS_DIR: agentsDir,
        LOG_LEVEL: 'info',
      },
      readyUrl: `${base}/readyz`,
    });
  });

  after(async () => {
    await gateway?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it('serves the agents of the directory, and no built-in agent', async () => {
    assert.equal(await createSession('first'), 201);
    assert.equal(await createSession('assistant'), 404, 'the built-in assistant is not served when AGENTS_DIR is set');
  });

  it('routes to an agent whose file is added after start, without a restart', async () => {
    assert.equal(await createSession('late'), 404);
    writeFileSync(join(agentsDir, 'late.yaml'), agentYaml('late', '1'));
    await waitFor(async () => (await createSession('late')) === 201, { timeoutMs: 5_000, description: 'POST /v1/sessions for agent "late" to answer 201' });
    await gateway.waitForLog(/"message":"agent loaded".*"agent":"late"/);
  });

  it('keeps serving an agent whose file turns invalid, logging the field, and drops it when the file is deleted', async () => {
    writeFileSync(join(agentsDir, 'first.yaml'), agentYaml('first', '2').replace('maxSteps: 1', 'maxSteps: 0'));
    const line = await gateway.waitForLog(/"message":"agent file refused".*first\.yaml/);
    assert.match(line, /limits\.maxSteps/);
    assert.equal(await createSession('first'), 201, 'the last good version keeps serving');
    unlinkSync(join(agentsDir, 'first.yaml'));
    await waitFor(async () => (await createSession('first')) === 404, { timeoutMs: 5_000, description: 'agent "first" to be gone after its file is deleted' });
  });
});
