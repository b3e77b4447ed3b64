import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { client } from './support/http';
import { OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';

type Sent = { messages: { role: string; content: string }[] };

/**
 * Long-term memory through the whole mesh: what a user says in one session is stored by memory-service
 * (asynchronously, via JetStream) and recalled into the context of that user's next session, never into
 * another tenant's, and gone at once after erasure. The model is a local OpenAI-compatible server, so the
 * test reads exactly what context the agent sent.
 */
describe('agents remember per user', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let dev: ReturnType<typeof client>;
  let acme: ReturnType<typeof client>;

  before(async () => {
    fake = await startFakeOpenAI(() => ({ text: ['noted'] }));
    const dir = mkdtempSync(join(tmpdir(), 'keelson-memory-e2e-'));
    const keyFile = join(dir, 'openai-key');
    writeFileSync(keyFile, 'sk-memory\n');
    const agents = join(dir, 'agents');
    mkdirSync(agents);
    writeFileSync(
      join(agents, 'companion.json'),
      JSON.stringify({
        id: 'companion',
        version: '1',
        description: 'remembers what each user tells it',
        model: { provider: 'openai', name: 'gpt-test' },
        systemPrompt: 'Be kind.',
        limits: { maxOutputTokens: 256, maxSteps: 2, timeoutMs: 30_000 },
        memory: { recall: 'semantic', topK: 5 },
      }),
    );
    mesh = await startMesh({ env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile, MEMORY_RECALL_TIMEOUT_MS: '2000' } });
    dev = client(mesh.base);
    acme = client(mesh.base, OTHER_TENANT_KEY);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  const say = async (api: ReturnType<typeof client>, userId: string, content: string): Promise<Sent> => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'companion', userId })).body;
    const res = await api.post(`/v1/sessions/${sessionId}/messages`, { content });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return fake.requests.at(-1)!.body as Sent;
  };
  const memoryContext = (sent: Sent) => sent.messages.filter((m) => m.role === 'system' && m.content.startsWith('What you remember')).map((m) => m.content);

  it('recalls in a new session what the same user said in another, and never for another tenant', async () => {
    const first = await say(dev, 'ada', 'I like green tea with honey');
    assert.deepEqual(memoryContext(first), [], 'nothing known yet');
    await waitFor(
      async () => ((await dev.post('/v1/memories/search', { query: 'green tea', namespace: 'user:ada' })).body.results?.length ? true : undefined),
      { description: 'the stated fact to be stored', timeoutMs: 20_000, intervalMs: 200 },
    );

    const later = await say(dev, 'ada', 'what tea do I like?');
    assert.equal(memoryContext(later).length, 1);
    assert.match(memoryContext(later)[0]!, /green tea/);

    const stranger = await say(acme, 'ada', 'what tea do I like?');
    assert.deepEqual(memoryContext(stranger), [], 'another tenant\'s user of the same id sees nothing');
    const otherUser = await say(dev, 'bob', 'what tea do I like?');
    assert.deepEqual(memoryContext(otherUser), [], 'another user of the same tenant sees nothing');
  });

  it('forgets a user at once on erasure', async () => {
    const erased = await dev.json('/v1/memories?userId=ada', { method: 'DELETE' });
    assert.equal(erased.status, 200, JSON.stringify(erased.body));
    assert.ok(erased.body.deleted >= 1);
    assert.deepEqual((await dev.post('/v1/memories/search', { query: 'green tea', namespace: 'user:ada' })).body.results, []);
    const after = await say(dev, 'ada', 'what tea do I like?');
    assert.deepEqual(memoryContext(after), []);
  });
});
