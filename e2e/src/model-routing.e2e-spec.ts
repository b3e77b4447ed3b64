import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle, type RecordedRequest } from '@keelson/testing';
import { client, readSse } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

const SIMPLE = 'What is the capital of France?';
const COMPLEX = 'Derive the closed form of \\sum_{k=1}^{n} k^2 and prove it by induction.';

type Body = { model: string; temperature?: number; messages: { role: string; content: string }[] };
const bodyOf = (r: RecordedRequest) => r.body as Body;
const lastUser = (r: RecordedRequest) => bodyOf(r).messages.filter((m) => m.role === 'user').at(-1)!.content;

/**
 * The mesh running routed agents on an OpenAI-compatible server that serves three model names: simple
 * requests go to the small tier and complex ones to the large tier; the small tier's first model fails
 * (HTTP 500) for prompts containing "flaky", so the call falls back to the second; a session stays on the
 * model that answered it; a temperature-0 agent's repeated invoke is answered from the cache.
 */
describe('model routing and the exact response cache', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    fake = await startFakeOpenAI((request) => {
      const { model } = bodyOf(request);
      if (model === 'small-a' && lastUser(request).includes('flaky')) return { status: 500, message: 'small-a is down' };
      return { text: [`answer `, `from ${model}`], usage: { promptTokens: 20, completionTokens: 3 } };
    });
    const dir = mkdtempSync(join(tmpdir(), 'keelson-routing-'));
    const keyFile = join(dir, 'openai-key');
    writeFileSync(keyFile, 'sk-routing\n');
    const agents = join(dir, 'agents');
    mkdirSync(join(agents, 'routing'), { recursive: true });
    writeFileSync(
      join(agents, 'routing', 'tiers.json'),
      JSON.stringify({
        name: 'tiers',
        version: '1',
        stickySessions: true,
        tiers: [
          { name: 'small', minScore: 0, candidates: [{ provider: 'openai', model: 'small-a' }, { provider: 'openai', model: 'small-b' }] },
          { name: 'large', minScore: 40, candidates: [{ provider: 'openai', model: 'large-a' }] },
        ],
      }),
    );
    const agent = (id: string, model: Record<string, unknown>) =>
      JSON.stringify({ id, version: '1', description: id, model, systemPrompt: 'Answer briefly.', limits: { maxOutputTokens: 64, maxSteps: 1, timeoutMs: 30_000 } });
    writeFileSync(join(agents, 'router.json'), agent('router', { routing: 'tiers' }));
    writeFileSync(join(agents, 'exact.json'), agent('exact', { provider: 'openai', name: 'large-a', temperature: 0 }));
    mesh = await startMesh({ sessionAgents: 2, env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile } });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  it('sends a simple request to the small tier and a complex one to the large tier', async () => {
    const simple = await api.post('/v1/agents/router/invoke', { input: SIMPLE });
    assert.equal(simple.status, 200, JSON.stringify(simple.body));
    assert.deepEqual([simple.body.model, simple.body.output], ['small-a', 'answer from small-a']);
    const complex = await api.post('/v1/agents/router/invoke', { input: COMPLEX });
    assert.equal(complex.status, 200, JSON.stringify(complex.body));
    assert.deepEqual([complex.body.model, complex.body.output], ['large-a', 'answer from large-a']);
    // Operators see the decisions counted by tier and reason.
    const { routing } = (await api.get('/v1/usage?limit=1')).body;
    assert.ok(routing.decisions >= 2, JSON.stringify(routing));
    assert.ok(Object.keys(routing.byTier).length >= 2, JSON.stringify(routing.byTier));
  });

  it('falls back when the first candidate fails with 500, pins the session to the one that answered, and logs run.routed with reasons', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'router' })).body;
    const res = await api.request(`/v1/sessions/${sessionId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: `flaky: ${SIMPLE}` }),
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(res.status, 200);
    const events = await readSse(res);
    const names = events.map((e) => e.event);
    assert.ok(names.indexOf('run.routed') > 0 && names.indexOf('run.routed') < names.indexOf('run.delta'), `run.routed before the deltas: ${names}`);
    const routed = events.find((e) => e.event === 'run.routed')!.data.data;
    assert.equal(routed.policy, 'tiers');
    assert.equal(routed.tier, 'small');
    assert.deepEqual(routed.candidate, { provider: 'openai', model: 'small-b' });
    assert.deepEqual(routed.fallbacks.map((f: { candidate: { model: string } }) => f.candidate.model), ['small-a']);
    assert.match(routed.fallbacks[0].error, /small-a is down|500/);
    const completed = events.find((e) => e.event === 'run.completed')!.data.data;
    assert.equal(completed.outcome.output, 'answer from small-b');

    // small-a works for this prompt, but the session stays on small-b (on whichever replica takes the turn).
    for (const content of ['And of Germany?', 'And of Spain?']) {
      const turn = await api.post(`/v1/sessions/${sessionId}/messages`, { content });
      assert.equal(turn.status, 200, JSON.stringify(turn.body));
      assert.equal(turn.body.output, 'answer from small-b');
    }
    const pinnedTurns = fake.requests.filter((r) => ['And of Germany?', 'And of Spain?'].includes(lastUser(r)));
    assert.deepEqual(pinnedTurns.map((r) => bodyOf(r).model), ['small-b', 'small-b']);

    // Usage records carry the routed model; the candidate that failed left its own (failed) record.
    const usage = await waitFor(async () => {
      const body = (await api.get('/v1/usage?agent=router&limit=1000')).body;
      return body.records.some((r: { model: string; status: string }) => r.model === 'small-a' && r.status === 'failed') ? body : undefined;
    }, { timeoutMs: 10_000, description: 'the failed call\'s usage record' });
    assert.ok(usage.totals.byModel['openai/small-b'].calls >= 3, JSON.stringify(usage.totals.byModel));
  });

  it('answers a repeated invoke of a temperature-0 agent from the cache: the provider sees one request', async () => {
    const question = 'What is 6 times 7, exactly?';
    const first = await api.post('/v1/agents/exact/invoke', { input: question });
    const second = await api.post('/v1/agents/exact/invoke', { input: question });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.output, first.body.output);
    assert.deepEqual(second.body.usage, { inputTokens: 0, outputTokens: 0, totalTokens: 0 }, 'a hit costs no tokens');
    const sent = fake.requests.filter((r) => lastUser(r) === question);
    assert.equal(sent.length, 1, 'one request reached the provider');
    assert.equal(bodyOf(sent[0]!).temperature, 0, 'temperature 0 was sent');
    // A hit is not a model call: no usage record for it, only for the call that reached the provider.
    const usage = await waitFor(async () => {
      const body = (await api.get('/v1/usage?agent=exact')).body;
      return body.totals.calls >= 1 ? body : undefined;
    }, { timeoutMs: 10_000, description: 'the usage record of the call that reached the provider' });
    await new Promise((resolve) => setTimeout(resolve, 500));
    assert.equal((await api.get('/v1/usage?agent=exact')).body.totals.calls, 1, JSON.stringify(usage.totals));
  });
});
