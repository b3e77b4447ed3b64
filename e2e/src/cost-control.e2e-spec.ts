import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { client } from './support/http';
import { OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';

/**
 * Every short reply the fake model gives reports this usage: 4 in (no more than the prompt really has, so a
 * call never costs more than its reservation), 50 out; gpt-4o-mini prices it at 30.6, rounded up to 31 micro-USD.
 */
const USAGE = { promptTokens: 4, completionTokens: 50 };
const CALL_MICRO_USD = Math.ceil(4 * 0.15 + 50 * 0.6);

const agentFile = (id: string, model: string, maxOutputTokens: number) => ({
  id,
  version: '1',
  description: `a ${model} agent`,
  model: { provider: 'openai', name: model },
  systemPrompt: 'Answer.',
  limits: { maxOutputTokens, maxSteps: 1, timeoutMs: 60_000 },
});

/**
 * Cost control through the whole mesh with two gateways, two session-agents and two task-workers: budgets hold
 * across replicas, every model call leaves exactly one usage record (also cut and cancelled ones), and the
 * records add up to what the provider reported.
 */
describe('budgets and usage records across replicas', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let gateways: ReturnType<typeof client>[];
  let acme: ReturnType<typeof client>;

  before(async () => {
    fake = await startFakeOpenAI((request) => {
      const last = (request.body as { messages: { content: string }[] }).messages.at(-1)!.content;
      // "talk" streams far more than any budget of the tests allows, without usage until the end.
      if (last.startsWith('talk')) return { text: Array.from({ length: 3_000 }, () => ' word'), chunkDelayMs: last === 'talk slowly' ? 20 : 2 };
      return { text: ['a short answer'], usage: USAGE };
    });
    const dir = mkdtempSync(join(tmpdir(), 'keelson-cost-'));
    const keyFile = join(dir, 'openai-key');
    writeFileSync(keyFile, 'sk-cost\n');
    const agents = join(dir, 'agents');
    mkdirSync(agents);
    // frugal's calls reserve their prompt's tokens and 60 output tokens (about 38 micro-USD), then settle at 31.
    writeFileSync(join(agents, 'frugal.json'), JSON.stringify(agentFile('frugal', 'gpt-4o-mini', 60)));
    writeFileSync(join(agents, 'talker.json'), JSON.stringify(agentFile('talker', 'gpt-4o-mini', 4096)));
    mesh = await startMesh({ sessionAgents: 2, taskWorkers: 2, env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile } });
    const second = await mesh.startReplica('gateway');
    gateways = [client(mesh.base), client(`http://127.0.0.1:${second.port}`)];
    acme = client(mesh.base, OTHER_TENANT_KEY);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  const usageOf = async (api: ReturnType<typeof client>, agent: string) => {
    const res = await api.get(`/v1/usage?agent=${agent}&limit=1000`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { totals: { calls: number; outputTokens: number; costMicroUsd: number }; records: any[] };
  };

  it('holds one tenant budget under concurrent calls through every replica and execution model; the records add up', async () => {
    const cap = 20 * CALL_MICRO_USD + 10; // room for 20 calls
    const set = await gateways[1]!.json('/v1/budgets', { method: 'PUT', body: JSON.stringify({ scope: 'tenant', window: 'day', limitUsd: cap / 1e6 }) });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    await new Promise((resolve) => setTimeout(resolve, 5_500)); // every replica's "no budgets" answer has expired

    const before = fake.requests.length;
    const calls = Array.from({ length: 48 }, async (_, i) => {
      const api = gateways[i % 2]!;
      switch (i % 3) {
        case 0:
          return (await api.post('/v1/agents/frugal/invoke', { input: `q${i}` })).status;
        case 1: {
          const { sessionId } = (await api.post('/v1/sessions', { agentId: 'frugal' })).body;
          return (await api.post(`/v1/sessions/${sessionId}/messages`, { content: `q${i}` })).status;
        }
        default: {
          const created = await api.post('/v1/tasks', { agentId: 'frugal', input: `q${i}` });
          if (created.status !== 202) return created.status;
          const view = await waitFor(
            async () => {
              const v = (await api.get(`/v1/tasks/${created.body.taskId}`)).body;
              return v.status === 'succeeded' || v.status === 'failed' ? v : undefined;
            },
            { description: 'the task to end', timeoutMs: 60_000, intervalMs: 100 },
          );
          return view.status === 'succeeded' ? 200 : view.error.code === 'budget_exceeded' ? 402 : 500;
        }
      }
    });
    const statuses = await Promise.all(calls);
    const served = statuses.filter((s) => s === 200).length;
    assert.deepEqual([...new Set(statuses)].sort(), [200, 402], `every call either ran or was refused for the budget: ${statuses}`);
    assert.ok(served <= 20, `${served} calls were served under a cap with room for 20`);

    const budgets = (await gateways[0]!.get('/v1/budgets')).body.budgets as any[];
    const tenant = budgets.find((b) => b.scope === 'tenant' && b.window === 'day');
    assert.ok(tenant.spentMicroUsd <= cap, `spent ${tenant.spentMicroUsd} of ${cap}`);
    assert.equal(tenant.reservedMicroUsd, 0, 'nothing left reserved');

    const providerCalls = fake.requests.length - before;
    const usage = await usageOf(gateways[1]!, 'frugal');
    assert.equal(usage.totals.calls, providerCalls, 'one record per call that reached the provider');
    assert.equal(usage.totals.outputTokens, providerCalls * USAGE.completionTokens, 'the provider\'s own figures');
    assert.equal(usage.totals.costMicroUsd, tenant.spentMicroUsd, 'what was charged is what the records say');
    assert.ok(usage.records.every((r) => r.estimated === false && r.status === 'completed'));

    // Calls one at a time until the budget refuses one: then what is left is less than one call's reservation.
    let refused = await gateways[0]!.post('/v1/agents/frugal/invoke', { input: 'one more' });
    for (let i = 0; i < 25 && refused.status === 200; i++) refused = await gateways[i % 2]!.post('/v1/agents/frugal/invoke', { input: 'one more' });
    assert.equal(refused.status, 402, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'budget_exceeded');
    assert.deepEqual([refused.body.error.budget.scope, refused.body.error.budget.window], ['tenant', 'day']);
    assert.ok(refused.body.error.budget.resetsAt, 'says when it resets');
    assert.ok(refused.body.error.budget.remainingMicroUsd < 2 * CALL_MICRO_USD, `${refused.body.error.budget.remainingMicroUsd} left`);
    assert.ok(refused.body.error.budget.spentMicroUsd <= cap);
    await gateways[0]!.json('/v1/budgets/tenant/day', { method: 'DELETE' });
  });

  it('cuts a stream that crosses a hard cap, ends the run budget_exceeded, and records the call as truncated', async () => {
    const cap = 700; // the first reservation (input + 1,024 output tokens) fits; the stream outgrows it
    const set = await acme.json('/v1/budgets', { method: 'PUT', body: JSON.stringify({ scope: 'agent', scopeId: 'talker', window: 'month', limitUsd: cap / 1e6 }) });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    await new Promise((resolve) => setTimeout(resolve, 5_500));
    const res = await acme.post('/v1/agents/talker/invoke', { input: 'talk' });
    assert.equal(res.status, 402, JSON.stringify(res.body));
    assert.match(res.body.error.message, /cut off/);
    assert.equal(fake.requests.at(-1)!.clientClosedEarly, true, 'the provider request was closed');
    const { records } = await usageOf(acme, 'talker');
    assert.equal(records.length, 1);
    assert.deepEqual([records[0].status, records[0].estimated], ['truncated', true]);
    assert.ok(records[0].outputTokens >= 1_024 && records[0].outputTokens < 3_000, `${records[0].outputTokens} tokens counted`);
    const budget = (await acme.get('/v1/budgets')).body.budgets.find((b: any) => b.scope === 'agent');
    assert.equal(budget.spentMicroUsd, records[0].costMicroUsd);
    await acme.json('/v1/budgets/agent/month?scopeId=talker', { method: 'DELETE' });
  });

  it('records a call its client hung up on as cancelled', async () => {
    const hangUp = new AbortController();
    const seen = fake.requests.length;
    const call = gateways[0]!.request('/v1/agents/talker/invoke', { method: 'POST', body: JSON.stringify({ input: 'talk slowly' }), signal: hangUp.signal });
    await waitFor(() => (fake.requests.length > seen ? true : undefined), { description: 'the model call to start', timeoutMs: 15_000 });
    await new Promise((resolve) => setTimeout(resolve, 200));
    hangUp.abort();
    await assert.rejects(call);
    const record = await waitFor(
      async () => (await usageOf(gateways[0]!, 'talker')).records.find((r) => r.status === 'cancelled'),
      { description: 'the cancelled call\'s record', timeoutMs: 15_000, intervalMs: 200 },
    );
    assert.equal(record.estimated, true);
    assert.ok(record.outputTokens > 0);
  });
});
