import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

const KEY = 'sk-canary-e2e-7f3a9c';

/**
 * The mesh running an agent on an OpenAI-compatible provider (a local server speaking the real wire format)
 * through all three execution models, with its key read from a mounted file.
 */
describe('agents on a real provider protocol', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    // "slow please" gets a long answer, a word every 200 ms: long enough to hang up in the middle of it.
    fake = await startFakeOpenAI(
      (request) => {
        const messages = (request.body as { messages: { content: string }[] }).messages;
        return messages.at(-1)!.content === 'slow please'
          ? { text: Array.from({ length: 100 }, (_, i) => `word${i} `), chunkDelayMs: 200 }
          : { text: ['The ', 'answer ', 'is ', '42.'] };
      },
      { apiKey: KEY },
    );
    const dir = mkdtempSync(join(tmpdir(), 'keelson-providers-'));
    const keyFile = join(dir, 'openai-key');
    writeFileSync(keyFile, `${KEY}\n`);
    const agents = join(dir, 'agents');
    mkdirSync(agents);
    writeFileSync(
      join(agents, 'oracle.json'),
      JSON.stringify({
        id: 'oracle',
        version: '1',
        description: 'answers from an OpenAI-compatible model',
        model: { provider: 'openai', name: 'gpt-test' },
        systemPrompt: 'Answer briefly.',
        limits: { maxOutputTokens: 256, maxSteps: 1, timeoutMs: 30_000 },
      }),
    );
    mesh = await startMesh({
      // Debug logging, so the canary below reads everything the services would ever write.
      env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile, LOG_LEVEL: 'debug' },
    });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  it('answers a stateless invoke from the provider, sending the system prompt and the key', async () => {
    const res = await api.post('/v1/agents/oracle/invoke', { input: 'what is the answer?' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.output, 'The answer is 42.');
    assert.equal(res.body.model, 'gpt-test');
    const sent = fake.requests.at(-1)!;
    assert.equal(sent.headers.authorization, `Bearer ${KEY}`);
    const body = sent.body as { model: string; messages: { role: string; content: string }[]; stream: boolean };
    assert.equal(body.model, 'gpt-test');
    assert.equal(body.stream, true);
    assert.deepEqual(body.messages.map((m) => m.role), ['system', 'user']);
  });

  it('runs a session turn and a task on the same provider', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'oracle' })).body;
    const turn = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'hello' });
    assert.equal(turn.status, 200, JSON.stringify(turn.body));
    assert.equal(turn.body.output, 'The answer is 42.');
    const { taskId } = (await api.post('/v1/tasks', { agentId: 'oracle', input: 'task please' })).body;
    const done = await waitFor(
      async () => {
        const view = (await api.get(`/v1/tasks/${taskId}`)).body;
        return view.status === 'succeeded' ? view : undefined;
      },
      { description: 'the provider-backed task to succeed', timeoutMs: 30_000 },
    );
    assert.equal(done.result.output, 'The answer is 42.');
  });

  /** The fake's record of the latest "slow please" request, once the caller hung up on it. */
  const upstreamClosed = (count: number) =>
    waitFor(
      () => {
        const slow = fake.requests.filter((r) => (r.body as { messages: { content: string }[] }).messages.at(-1)!.content === 'slow please');
        return slow.length === count && slow.at(-1)!.clientClosedEarly ? true : undefined;
      },
      { description: 'the model request to be closed by Keelson', timeoutMs: 15_000 },
    );
  const slowRequests = () => fake.requests.filter((r) => JSON.stringify(r.body).includes('slow please')).length;

  it('a client that hangs up on an invoke cancels the model request upstream', async () => {
    const before = slowRequests();
    const hangUp = new AbortController();
    const call = api.request('/v1/agents/oracle/invoke', { method: 'POST', body: JSON.stringify({ input: 'slow please' }), signal: hangUp.signal });
    await waitFor(() => (slowRequests() > before ? true : undefined), { description: 'the model request to start', timeoutMs: 15_000 });
    hangUp.abort();
    await assert.rejects(call);
    await upstreamClosed(before + 1);
  });

  it('a client that hangs up on a streamed chat completion cancels the model request upstream', async () => {
    const before = slowRequests();
    const hangUp = new AbortController();
    const res = await api.request('/v1/chat/completions', {
      method: 'POST',
      body: JSON.stringify({ model: 'oracle', stream: true, messages: [{ role: 'user', content: 'slow please' }] }),
      signal: hangUp.signal,
    });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    await reader.read(); // the stream has begun
    // The first chunk can come before the model request starts (the run's start is logged and audited first);
    // a hang-up before it would leave no upstream request to close.
    await waitFor(() => (slowRequests() > before ? true : undefined), { description: 'the model request to start', timeoutMs: 15_000 });
    hangUp.abort();
    await upstreamClosed(before + 1);
  });

  it('never writes the provider key into any service log', async () => {
    for (const [name, app] of mesh.apps) {
      assert.ok(!app.logs().some((line) => line.includes(KEY)), `${name} logged the API key`);
    }
  });
});
