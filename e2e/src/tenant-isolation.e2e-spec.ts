import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AuditSubjects, GuardSubjects, MemorySubjects, Streams, Subjects, UsageSubjects } from '@keelson/contracts';
import { decodeJson, encodeJson } from '@keelson/messaging';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { client } from './support/http';
import { controllerRoutes, openApiRoutes, upgradeStatus } from './support/isolation';
import { API_KEY, OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';
import { tenantNats } from './support/tenant-nats';
import { agentsEnv } from './support/tool-agents';

/**
 * Issue 9: every resource of a tenant is reachable only by that tenant. Tenant dev creates one of everything;
 * tenant acme (a key with every scope) then tries each of them with dev's ids, over every HTTP route and over
 * NATS with acme's own publisher credentials. Another tenant's id answers exactly like an id that never
 * existed (404, or an empty list), never 403, so not even existence leaks; and afterwards dev's resources are
 * as they were.
 *
 * The table below is the coverage contract: every route of docs/api/openapi.json and of the gateway's
 * controllers must have an entry (an isolation case, or the reason it holds no tenant data), and every case
 * must have been exercised, so a new route cannot be added without an isolation case.
 */
const TABLE: Record<string, { case: string; expected: string } | { exempt: string }> = {
  'POST /v1/sessions': { case: "acme creates a session with dev's userId and talks in it", expected: "201 acme's own session; dev's memories of that user never reach the model" },
  'GET /v1/sessions/{sessionId}': { case: "dev's sessionId", expected: '404 session_not_found' },
  'DELETE /v1/sessions/{sessionId}': { case: "dev's sessionId", expected: '404 session_not_found; dev\'s history intact' },
  'POST /v1/sessions/{sessionId}/messages': { case: "dev's sessionId, every onBusy, JSON and SSE", expected: '404 session_not_found; no turn added' },
  'GET /v1/sessions/{sessionId}/events': { case: "dev's sessionId (SSE)", expected: '404 session_not_found' },
  'GET /v1/sessions/{sessionId}/ws': { case: "WebSocket upgrade on dev's sessionId", expected: '404' },
  'POST /v1/tasks': { case: "acme's task with dev's userId and dev's idempotency key", expected: "202 a new acme task (not dev's, not replayed); no dev memory in the model's context" },
  'GET /v1/tasks/{taskId}': { case: "dev's taskIds (completed and paused)", expected: '404 task_not_found' },
  'GET /v1/tasks/{taskId}/events': { case: "dev's taskId (SSE)", expected: '404 task_not_found' },
  'POST /v1/approvals/{approvalId}': { case: "approve and reject dev's pending approval", expected: '404 approval_not_found; dev can still decide it (202)' },
  'POST /v1/agents/{agentId}/invoke': { case: "invoke with dev's userId", expected: "200; dev's memories of that user never reach the model" },
  'POST /v1/chat/completions': { case: "OpenAI `user` = dev's userId", expected: "200; dev's memories of that user never reach the model" },
  'POST /v1/memories': { case: "acme writes with dev's memory id", expected: "201 acme's own memory; dev's memory unchanged" },
  'GET /v1/memories/{id}': { case: "dev's memory id", expected: '404' },
  'DELETE /v1/memories/{id}': { case: "dev's memory id", expected: '404; dev\'s memory still there' },
  'DELETE /v1/memories': { case: "erase dev's userId", expected: '200 {deleted: 0}; dev\'s memory still there' },
  'POST /v1/memories/search': { case: "dev's memory text, with and without dev's namespace", expected: "200 without dev's memory" },
  'GET /v1/memories/namespaces': { case: 'list', expected: "200 without dev's namespaces" },
  'GET /v1/audit/events': { case: "sessionId / taskId of dev's, and no filter", expected: "200 no record of dev's" },
  'GET /v1/audit/export': { case: "sessionId of dev's, and no filter", expected: "200 no record of dev's; trailer count 0 for dev's id" },
  'GET /v1/audit/verify': { case: 'whole chain', expected: "200 ok, acme's chain only (no dev hash)" },
  'GET /v1/usage': { case: "no filter and key = dev's key id", expected: "200 no record of dev's" },
  'GET /v1/budgets': { case: 'list', expected: "200 without dev's budgets" },
  'PUT /v1/budgets': { case: "acme sets a budget at the address of dev's (agent helper, day)", expected: "200 acme's own; dev's limit unchanged" },
  'DELETE /v1/budgets/{scope}/{window}': { case: "dev's budget addresses (tenant/month, agent/day?scopeId=helper)", expected: "404; dev's budgets still there" },
  'GET /v1/keys': { case: 'list', expected: "200 without dev's keys (file or API)" },
  'POST /v1/keys': { case: 'acme creates a key', expected: "201 acme's; never in dev's list" },
  'POST /v1/keys/{keyId}/rotate': { case: "dev's API key id", expected: "404; dev's key still active" },
  'DELETE /v1/keys/{keyId}': { case: "dev's API key id and dev's file key id", expected: "404 (not 409 for the file key); dev's key still active" },
  'GET /v1/access-review': { case: 'review', expected: "200 without dev's keys or key changes" },
  'GET /v1/ops/runs': { case: "tenant=dev&taskId=…; taskId / sessionId of dev's", expected: '403 forbidden (acme is no operator); 404' },
  'GET /v1/ops/overview': { case: 'overview', expected: "200 tenants [acme], nothing of dev's" },
  'GET /v1/rollouts': { case: 'list (platform-level: operator tenants only)', expected: '403 forbidden' },
  'GET /v1/rollouts/{agentId}': { case: 'read one', expected: '403 forbidden' },
  'PUT /v1/rollouts/{agentId}': { case: 'start a canary for every tenant', expected: '403 forbidden' },
  'POST /v1/rollouts/{agentId}/promote': { case: 'promote', expected: '403 forbidden' },
  'POST /v1/rollouts/{agentId}/rollback': { case: 'roll back', expected: '403 forbidden' },
  'GET /v1/kill-switches': { case: 'list', expected: '403 forbidden' },
  'PUT /v1/kill-switches/{kind}/{id}': { case: 'suspend tenant dev, disable an agent', expected: "403 forbidden; dev still served" },
  'DELETE /v1/kill-switches/{kind}/{id}': { case: 'clear', expected: '403 forbidden' },
  'GET /v1/guard/policy': { case: 'read', expected: "acme's default (version 0), not dev's" },
  'PUT /v1/guard/policy': { case: 'acme writes its own', expected: "200 acme's; dev's policy unchanged" },
  'POST /v1/guard/output': { case: "the value dev pseudonymised", expected: "acme's policy (placeholder), never dev's token" },
  'POST /v1/guard/input': { case: 'a check', expected: "200 under acme's policy version" },
  'POST /v1/guard/reveal': { case: "dev's pseudonym token", expected: '200 revealed 0, unknown 1, the text unchanged' },
  'GET /v1/models': { exempt: 'the agent catalog is the deployment\'s, the same for every tenant' },
  'GET /v1/models/{model}': { exempt: 'the agent catalog is the deployment\'s, the same for every tenant' },
  'GET /healthz': { exempt: 'no tenant data, no authentication' },
  'GET /readyz': { exempt: 'no tenant data, no authentication' },
  'GET /dashboard': { exempt: 'static HTML; its data comes from /v1/ops/*' },
  'GET /dashboard/vendor/chart.umd.js': { exempt: 'static asset' },
  'GET /dashboard/{file}': { exempt: 'static asset' },
};

/** Every model reply reports this usage, so each call leaves a usage record. */
const USAGE = { promptTokens: 4, completionTokens: 5 };
/** What dev remembers about its user ada: it must never reach a model call of acme's. */
const DEV_FACT = 'ada likes green tea with honey';
const DEV_EMAIL = 'ada.lovelace@example.com';
const DEV_IDEMPOTENCY_KEY = 'dev-order-1';

const helper = {
  id: 'helper',
  version: '1',
  description: 'answers, and remembers per user',
  model: { provider: 'openai', name: 'gpt-4o-mini' },
  systemPrompt: 'Answer.',
  limits: { maxOutputTokens: 256, maxSteps: 2, timeoutMs: 30_000 },
  memory: { recall: 'semantic', topK: 5 },
};
const gatekeeper = {
  id: 'gatekeeper',
  version: '1',
  description: 'fetches only with a human approval',
  model: { provider: 'openai', name: 'gpt-4o-mini' },
  systemPrompt: 'Use the tool.',
  tools: ['http_fetch'],
  approval: { tools: ['http_fetch'], timeoutSeconds: 3600 },
  http: { allowHosts: ['127.0.0.1'] },
  limits: { maxOutputTokens: 256, maxSteps: 3, timeoutMs: 30_000 },
};

type Api = ReturnType<typeof client>;
type Msg = { role: string; content: string };

describe('tenant isolation: nothing of tenant dev is reachable with tenant acme\'s credentials', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let dev: Api;
  let acme: Api;
  const exercised = new Set<string>();
  /** Marks a table route as tried; returns the route, for assertion messages. */
  const route = (key: string): string => {
    assert.ok(key in TABLE, `${key} is not in the coverage table`);
    exercised.add(key);
    return key;
  };

  /** What dev made; filled by the first test, compared by the last. */
  const made = {} as {
    sessionId: string;
    session: any;
    sessionSteps: number;
    taskId: string;
    task: any;
    pausedTaskId: string;
    approvalId: string;
    memoryId: string;
    memory: any;
    budgets: any[];
    keyId: string;
    key: string;
    policy: any;
    token: string;
    auditHashes: Set<string>;
    traceId: string;
  };
  const devIds = () => [made.sessionId, made.taskId, made.pausedTaskId, made.approvalId, made.memoryId, made.keyId];
  /** The ids of dev's that appear anywhere in a body. */
  const leaked = (body: unknown) => {
    const text = JSON.stringify(body) ?? '';
    return [...devIds(), DEV_FACT, DEV_EMAIL].filter((id) => text.includes(id));
  };

  /** The model calls made while `fn` ran must not hold dev's remembered fact. */
  const withoutDevMemory = async <T>(what: string, fn: () => Promise<T>): Promise<T> => {
    const mark = fake.requests.length;
    const result = await fn();
    const calls = fake.requests.slice(mark);
    assert.ok(calls.length >= 1, `${what}: expected a model call`);
    for (const call of calls) {
      const messages = (call.body as { messages: Msg[] }).messages;
      assert.ok(!JSON.stringify(messages).includes('green tea'), `${what}: dev's memory reached acme's model call: ${JSON.stringify(messages)}`);
    }
    return result;
  };

  const finished = (api: Api, taskId: string) =>
    waitFor(
      async () => {
        const view = (await api.get(`/v1/tasks/${taskId}`)).body;
        return view?.status === 'succeeded' || view?.status === 'failed' ? view : undefined;
      },
      { description: `task ${taskId} to finish`, timeoutMs: 30_000, intervalMs: 100 },
    );

  before(async () => {
    fake = await startFakeOpenAI((request) => {
      const body = request.body as { messages: Msg[]; tools?: { function?: { name?: string } }[] };
      const last = body.messages.at(-1)!;
      if (last.role === 'tool') return { text: [`the tool said: ${last.content}`], usage: USAGE };
      if (body.tools?.some((t) => t.function?.name === 'http_fetch')) {
        return { toolCalls: [{ id: 'call_1', name: 'http_fetch', arguments: JSON.stringify({ url: 'http://127.0.0.1:9/weather' }) }] };
      }
      return { text: [`reply to: ${last.content}`], usage: USAGE };
    });
    const dir = mkdtempSync(join(tmpdir(), 'keelson-isolation-'));
    writeFileSync(join(dir, 'pseudonym.key'), randomBytes(32).toString('hex'));
    mesh = await startMesh({
      env: {
        ...agentsEnv([helper, gatekeeper], fake.baseUrl),
        GUARD_PSEUDONYM_KEY_FILE: join(dir, 'pseudonym.key'),
        GUARD_POLICY_CACHE_MS: '0',
        MEMORY_RECALL_TIMEOUT_MS: '2000',
      },
    });
    dev = client(mesh.base, API_KEY);
    acme = client(mesh.base, OTHER_TENANT_KEY);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  it('tenant dev makes one of everything', async () => {
    // A session with a turn (and so a run log).
    const session = await dev.post('/v1/sessions', { agentId: 'helper', userId: 'ada' });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    made.sessionId = session.body.sessionId;
    const turn = await dev.post(`/v1/sessions/${made.sessionId}/messages`, { content: 'dev says hello' });
    assert.equal(turn.status, 200, JSON.stringify(turn.body));

    // A completed task with a result, and one paused on a human approval.
    const task = await dev.post('/v1/tasks', { agentId: 'helper', input: 'dev task input', idempotencyKey: DEV_IDEMPOTENCY_KEY });
    assert.equal(task.status, 202, JSON.stringify(task.body));
    made.taskId = task.body.taskId;
    const paused = await dev.post('/v1/tasks', { agentId: 'gatekeeper', input: 'fetch it' });
    assert.equal(paused.status, 202, JSON.stringify(paused.body));
    made.pausedTaskId = paused.body.taskId;
    made.task = await finished(dev, made.taskId);
    assert.equal(made.task.status, 'succeeded', JSON.stringify(made.task));
    assert.equal(made.task.result.output, 'reply to: dev task input');
    made.approvalId = await waitFor(
      async () => {
        const run = await dev.get(`/v1/ops/runs?taskId=${made.pausedTaskId}`);
        const step = run.body?.steps?.find((s: { name: string }) => s.name.includes('approval_required'));
        return step ? (/apr_[a-f0-9]{32}/.exec(JSON.stringify(step))?.[0] ?? undefined) : undefined;
      },
      { description: 'the paused task\'s approval id in its run log', timeoutMs: 30_000, intervalMs: 100 },
    );
    made.sessionSteps = (await dev.get(`/v1/ops/runs?sessionId=${made.sessionId}`)).body.steps.length;
    assert.ok(made.sessionSteps > 0, 'the session turn has a run log');

    // A memory of dev's user ada; dev's own model call recalls it (so the checks on acme's calls mean something).
    const memory = await dev.post('/v1/memories', { namespace: 'user:ada', text: DEV_FACT, metadata: { owner: 'dev' } });
    assert.equal(memory.status, 201, JSON.stringify(memory.body));
    made.memoryId = memory.body.id;
    made.memory = (await dev.get(`/v1/memories/${made.memoryId}`)).body;
    assert.equal(made.memory.text, DEV_FACT);
    const mark = fake.requests.length;
    const recalling = await dev.post('/v1/tasks', { agentId: 'helper', input: 'what tea do I like?', userId: 'ada' });
    assert.equal((await finished(dev, recalling.body.taskId)).status, 'succeeded');
    assert.ok(JSON.stringify(fake.requests.slice(mark).map((r) => r.body)).includes('green tea'), "dev's own task recalls dev's memory");

    // Budgets, an API key, a guard policy in pseudonym mode and a pseudonym token.
    for (const budget of [{ scope: 'tenant', window: 'month', limitUsd: 100 }, { scope: 'agent', scopeId: 'helper', window: 'day', limitUsd: 50 }]) {
      const set = await dev.json('/v1/budgets', { method: 'PUT', body: JSON.stringify(budget) });
      assert.equal(set.status, 200, JSON.stringify(set.body));
    }
    made.budgets = (await dev.get('/v1/budgets')).body.budgets.map(limitsOf);
    assert.equal(made.budgets.length, 2);
    const key = await dev.post('/v1/keys', { name: 'dev ci', scopes: ['tasks'] });
    assert.equal(key.status, 201, JSON.stringify(key.body));
    [made.keyId, made.key] = [key.body.id, key.body.key];
    const policy = await dev.json('/v1/guard/policy', { method: 'PUT', body: JSON.stringify({ output: { mode: 'pseudonym', allowValues: ['support@dev.example'] } }) });
    assert.equal(policy.status, 200, JSON.stringify(policy.body));
    made.policy = policy.body;
    made.token = await waitFor(
      async () => /\[EMAIL_ADDRESS:[0-9a-f]+\]/.exec((await dev.post('/v1/guard/output', { text: `write to ${DEV_EMAIL}` })).body?.text ?? '')?.[0],
      { description: 'dev\'s output filtered in pseudonym mode', timeoutMs: 10_000, intervalMs: 100 },
    );
    const revealed = await dev.post('/v1/guard/reveal', { text: made.token });
    assert.deepEqual([revealed.status, revealed.body.text], [200, DEV_EMAIL], 'dev reveals its own token');

    // Usage records of dev's runs and audit records of its session and task.
    await waitFor(async () => ((await dev.get('/v1/usage')).body.records?.length >= 3 ? true : undefined), {
      description: "dev's usage records",
      timeoutMs: 20_000,
      intervalMs: 200,
    });
    await waitFor(
      async () => {
        const [bySession, byTask] = await Promise.all([dev.get(`/v1/audit/events?sessionId=${made.sessionId}`), dev.get(`/v1/audit/events?taskId=${made.taskId}`)]);
        return bySession.body.events?.length && byTask.body.events?.length ? true : undefined;
      },
      { description: "dev's audit records of its session and task", timeoutMs: 20_000, intervalMs: 200 },
    );
    const devRecords = (await dev.get('/v1/audit/events?limit=500')).body.events as { hash: string; traceId?: string; sessionId?: string }[];
    made.auditHashes = new Set(devRecords.map((e) => e.hash));
    made.traceId = devRecords.find((e) => e.sessionId === made.sessionId && e.traceId)?.traceId ?? '';
    assert.match(made.traceId, /^[0-9a-f]{32}$/, "a trace id on dev's session records");
    made.session = (await dev.get(`/v1/sessions/${made.sessionId}`)).body;
    assert.equal(made.session.turns, 1);
  });

  it('sessions: dev\'s session is unknown to acme over HTTP, SSE and WebSocket', async () => {
    const s = made.sessionId;
    for (const [key, res] of [
      [route('GET /v1/sessions/{sessionId}'), await acme.get(`/v1/sessions/${s}`)],
      [route('DELETE /v1/sessions/{sessionId}'), await acme.json(`/v1/sessions/${s}`, { method: 'DELETE' })],
    ] as const) {
      assert.equal(res.status, 404, `${key}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'session_not_found');
    }
    const messages = route('POST /v1/sessions/{sessionId}/messages');
    for (const onBusy of [undefined, 'reject', 'enqueue', 'interrupt', 'steer']) {
      const res = await acme.post(`/v1/sessions/${s}/messages`, { content: 'acme was here', ...(onBusy ? { onBusy } : {}) });
      assert.equal(res.status, 404, `${messages} onBusy ${onBusy}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'session_not_found');
    }
    const streamed = await acme.request(`/v1/sessions/${s}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: 'acme was here' }),
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(streamed.status, 404, `${messages} as SSE: ${await streamed.text()}`);
    const events = await acme.request(`/v1/sessions/${s}/events`, { headers: { accept: 'text/event-stream' } });
    assert.equal(events.status, 404, `${route('GET /v1/sessions/{sessionId}/events')}: ${await events.text()}`);
    assert.equal(await upgradeStatus(mesh.base, s, OTHER_TENANT_KEY), 404, route('GET /v1/sessions/{sessionId}/ws'));
    assert.equal(await upgradeStatus(mesh.base, s, API_KEY), 101, 'dev itself opens the socket');
  });

  it('tasks and approvals: dev\'s tasks and approval are unknown to acme', async () => {
    for (const taskId of [made.taskId, made.pausedTaskId]) {
      const view = await acme.get(`/v1/tasks/${taskId}`);
      assert.equal(view.status, 404, `${route('GET /v1/tasks/{taskId}')}: ${JSON.stringify(view.body)}`);
      assert.equal(view.body.error.code, 'task_not_found');
      const events = await acme.request(`/v1/tasks/${taskId}/events`, { headers: { accept: 'text/event-stream' } });
      assert.equal(events.status, 404, `${route('GET /v1/tasks/{taskId}/events')}: ${await events.text()}`);
    }
    for (const decision of ['approve', 'reject']) {
      const res = await acme.post(`/v1/approvals/${made.approvalId}`, { decision });
      assert.equal(res.status, 404, `${route('POST /v1/approvals/{approvalId}')} ${decision}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.code, 'approval_not_found');
    }
    assert.equal((await dev.get(`/v1/tasks/${made.pausedTaskId}`)).body.status, 'running', 'dev\'s paused task still waits');
  });

  it('memories: dev\'s memory is unknown to acme, and acme\'s writes with dev\'s ids stay acme\'s', async () => {
    const got = await acme.get(`/v1/memories/${made.memoryId}`);
    assert.equal(got.status, 404, `${route('GET /v1/memories/{id}')}: ${JSON.stringify(got.body)}`);
    const deleted = await acme.json(`/v1/memories/${made.memoryId}`, { method: 'DELETE' });
    assert.equal(deleted.status, 404, `${route('DELETE /v1/memories/{id}')}: ${JSON.stringify(deleted.body)}`);
    for (const body of [{ query: DEV_FACT }, { query: 'green tea', namespace: 'user:ada' }, { query: 'tea', filter: { owner: 'dev' } }]) {
      const found = await acme.post('/v1/memories/search', body);
      assert.equal(found.status, 200, `${route('POST /v1/memories/search')}: ${JSON.stringify(found.body)}`);
      assert.deepEqual(leaked(found.body), [], `search ${JSON.stringify(body)} returned dev's memory`);
    }
    const namespaces = await acme.get('/v1/memories/namespaces');
    assert.equal(namespaces.status, 200);
    assert.deepEqual(namespaces.body.namespaces, [], `${route('GET /v1/memories/namespaces')}: acme has no memories yet`);
    const erased = await acme.json('/v1/memories?userId=ada', { method: 'DELETE' });
    assert.deepEqual([erased.status, erased.body], [200, { deleted: 0 }], route('DELETE /v1/memories'));
    const written = await acme.post('/v1/memories', { id: made.memoryId, namespace: 'user:ada', text: 'acme wrote over it', metadata: { owner: 'acme' } });
    assert.deepEqual([written.status, written.body], [201, { id: made.memoryId }], route('POST /v1/memories'));
    assert.deepEqual((await dev.get(`/v1/memories/${made.memoryId}`)).body, made.memory, "dev's memory unchanged by acme's write with its id");
    assert.equal((await acme.get(`/v1/memories/${made.memoryId}`)).body.text, 'acme wrote over it', "acme's write is acme's own");
    assert.equal((await acme.json(`/v1/memories/${made.memoryId}`, { method: 'DELETE' })).status, 204);
    assert.deepEqual((await dev.get(`/v1/memories/${made.memoryId}`)).body, made.memory, "dev's memory survives acme deleting its own of that id");
  });

  it('body-level: acme\'s invoke, chat completion, task and session with dev\'s userId and idempotency key touch nothing of dev\'s', async () => {
    const invoked = await withoutDevMemory('invoke', () => acme.post('/v1/agents/helper/invoke', { input: 'what tea do I like?', userId: 'ada' }));
    assert.equal(invoked.status, 200, `${route('POST /v1/agents/{agentId}/invoke')}: ${JSON.stringify(invoked.body)}`);
    const chat = await withoutDevMemory('chat completion', () =>
      acme.post('/v1/chat/completions', { model: 'helper', messages: [{ role: 'user', content: 'what tea do I like?' }], user: 'ada' }),
    );
    assert.equal(chat.status, 200, `${route('POST /v1/chat/completions')}: ${JSON.stringify(chat.body)}`);

    const task = await acme.post('/v1/tasks', { agentId: 'helper', input: 'what tea do I like?', userId: 'ada', idempotencyKey: DEV_IDEMPOTENCY_KEY });
    assert.equal(task.status, 202, `${route('POST /v1/tasks')}: ${JSON.stringify(task.body)}`);
    assert.notEqual(task.body.taskId, made.taskId, "dev's idempotency key gives acme a task of its own");
    assert.equal(task.headers.get('idempotent-replayed'), null);
    const mark = fake.requests.length;
    const view = await finished(acme, task.body.taskId);
    assert.equal(view.result?.output, 'reply to: what tea do I like?', JSON.stringify(view));
    assert.ok(!JSON.stringify(fake.requests.slice(mark).map((r) => r.body)).includes('green tea'), "dev's memory reached acme's task");

    const session = await acme.post('/v1/sessions', { agentId: 'helper', userId: 'ada' });
    assert.equal(session.status, 201, `${route('POST /v1/sessions')}: ${JSON.stringify(session.body)}`);
    assert.notEqual(session.body.sessionId, made.sessionId);
    const turn = await withoutDevMemory('session turn', () => acme.post(`/v1/sessions/${session.body.sessionId}/messages`, { content: 'what tea do I like?' }));
    assert.equal(turn.status, 200, JSON.stringify(turn.body));
  });

  it('audit: acme\'s trail holds nothing of dev\'s, by any filter, export or verification', async () => {
    const events = route('GET /v1/audit/events');
    for (const query of [`sessionId=${made.sessionId}`, `taskId=${made.taskId}`, `taskId=${made.pausedTaskId}`, `runId=${made.taskId}`, `traceId=${made.traceId}`]) {
      const page = await acme.get(`/v1/audit/events?${query}`);
      assert.equal(page.status, 200, `${events}?${query}: ${JSON.stringify(page.body)}`);
      assert.deepEqual(page.body.events, [], `${events}?${query} returned dev's records`);
    }
    const all = await acme.get('/v1/audit/events?limit=500');
    assert.ok(all.body.events.length > 0, 'acme has records of its own');
    assert.deepEqual(all.body.events.filter((e: { tenant: string; hash: string }) => e.tenant !== 'acme' || made.auditHashes.has(e.hash)), []);
    assert.deepEqual(leaked(all.body), []);

    for (const query of [`sessionId=${made.sessionId}`, `taskId=${made.taskId}`, `traceId=${made.traceId}`]) {
      const exported = await acme.request(`/v1/audit/export?${query}`);
      assert.equal(exported.status, 200, `${route('GET /v1/audit/export')}?${query}`);
      assert.deepEqual((await exported.text()).trim().split('\n').map((l) => JSON.parse(l)), [{ export: 'complete', count: 0 }], `export?${query}`);
    }
    const everything = (await (await acme.request('/v1/audit/export')).text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(everything.at(-1).export, 'complete');
    assert.deepEqual(everything.slice(0, -1).filter((r: { tenant: string }) => r.tenant !== 'acme'), []);
    assert.deepEqual(leaked(everything), []);

    const verified = await acme.get('/v1/audit/verify');
    assert.equal(verified.status, 200, `${route('GET /v1/audit/verify')}: ${JSON.stringify(verified.body)}`);
    assert.equal(verified.body.ok, true);
    assert.ok(!made.auditHashes.has(verified.body.lastHash), "acme's verification walked dev's chain");
  });

  it('usage, budgets and ops: acme sees its own figures only and cannot open or remove dev\'s', async () => {
    for (const query of ['', `?key=e2e-dev`, `?key=${made.keyId}`]) {
      const usage = await acme.get(`/v1/usage${query}`);
      assert.equal(usage.status, 200, `${route('GET /v1/usage')}${query}: ${JSON.stringify(usage.body)}`);
      assert.deepEqual(usage.body.records.filter((r: { tenant: string }) => r.tenant !== 'acme'), [], `usage${query}`);
      assert.deepEqual(leaked(usage.body.records), []);
    }
    const budgets = await acme.get('/v1/budgets');
    assert.deepEqual([budgets.status, budgets.body.budgets], [200, []], route('GET /v1/budgets'));
    for (const path of ['/v1/budgets/tenant/month', '/v1/budgets/agent/day?scopeId=helper']) {
      const res = await acme.json(path, { method: 'DELETE' });
      assert.equal(res.status, 404, `${route('DELETE /v1/budgets/{scope}/{window}')} ${path}: ${JSON.stringify(res.body)}`);
    }
    const set = await acme.json('/v1/budgets', { method: 'PUT', body: JSON.stringify({ scope: 'agent', scopeId: 'helper', window: 'day', limitUsd: 7 }) });
    assert.equal(set.status, 200, `${route('PUT /v1/budgets')}: ${JSON.stringify(set.body)}`);
    assert.deepEqual((await dev.get('/v1/budgets')).body.budgets.map(limitsOf), made.budgets, "dev's budgets unchanged by acme's");

    const runs = route('GET /v1/ops/runs');
    const other = await acme.get(`/v1/ops/runs?tenant=dev&taskId=${made.taskId}`);
    assert.equal(other.status, 403, `${runs} tenant=dev: ${JSON.stringify(other.body)}`);
    assert.equal(other.body.error.code, 'forbidden');
    for (const query of [`taskId=${made.taskId}`, `taskId=${made.pausedTaskId}`, `sessionId=${made.sessionId}`]) {
      const res = await acme.get(`/v1/ops/runs?${query}`);
      assert.equal(res.status, 404, `${runs}?${query}: ${JSON.stringify(res.body)}`);
    }
    const overview = await acme.get('/v1/ops/overview');
    assert.equal(overview.status, 200, `${route('GET /v1/ops/overview')}: ${JSON.stringify(overview.body)}`);
    assert.deepEqual(overview.body.tenants, ['acme']);
    assert.ok(!JSON.stringify(overview.body).includes('"tenant":"dev"'), `dev in acme's overview: ${JSON.stringify(overview.body)}`);
    assert.deepEqual(leaked(overview.body), []);

    // Rollouts and kill switches are the platform's (operator tenants only): acme may neither read nor change them.
    const rollout = { stable: '1', canary: '1', canaryShare: 0.5 };
    const platform: Array<[string, string, string, unknown?]> = [
      ['GET /v1/rollouts', 'GET', '/v1/rollouts'],
      ['GET /v1/rollouts/{agentId}', 'GET', '/v1/rollouts/helper'],
      ['PUT /v1/rollouts/{agentId}', 'PUT', '/v1/rollouts/helper', rollout],
      ['POST /v1/rollouts/{agentId}/promote', 'POST', '/v1/rollouts/helper/promote', {}],
      ['POST /v1/rollouts/{agentId}/rollback', 'POST', '/v1/rollouts/helper/rollback', {}],
      ['GET /v1/kill-switches', 'GET', '/v1/kill-switches'],
      ['PUT /v1/kill-switches/{kind}/{id}', 'PUT', '/v1/kill-switches/tenant/dev', { reason: 'acme tries' }],
      ['PUT /v1/kill-switches/{kind}/{id}', 'PUT', '/v1/kill-switches/agent/helper', { reason: 'acme tries' }],
      ['DELETE /v1/kill-switches/{kind}/{id}', 'DELETE', '/v1/kill-switches/tenant/dev'],
    ];
    for (const [key, method, path, body] of platform) {
      const res = await acme.json(path, { method, ...(body === undefined ? {} : { body: JSON.stringify(body) }) });
      assert.equal(res.status, 403, `${route(key)} ${path}: ${JSON.stringify(res.body)}`);
    }
    const stillServed = await dev.post('/v1/tasks', { agentId: 'helper', input: 'still here?' });
    assert.equal(stillServed.status, 202, `dev is neither suspended nor its agent disabled: ${JSON.stringify(stillServed.body)}`);

    // Budgets on dev's key ids are acme's own (acme typed the ids in); the last test checks dev's keys still work.
    for (const scopeId of ['e2e-dev', made.keyId]) {
      const tiny = await acme.json('/v1/budgets', { method: 'PUT', body: JSON.stringify({ scope: 'key', scopeId, window: 'day', limitUsd: 0.000001 }) });
      assert.equal(tiny.status, 200, `a budget on key id ${scopeId} is acme's own: ${JSON.stringify(tiny.body)}`);
    }
    assert.deepEqual((await dev.get('/v1/budgets')).body.budgets.map(limitsOf), made.budgets, "dev's budgets unchanged by acme's key budgets");
  });

  it('keys and access review: dev\'s keys are unknown to acme', async () => {
    const listed = await acme.get('/v1/keys');
    assert.equal(listed.status, 200, route('GET /v1/keys'));
    assert.deepEqual(listed.body.keys.filter((k: { id: string; tenant: string }) => k.tenant !== 'acme' || k.id === made.keyId || k.id === 'e2e-dev'), []);
    for (const keyId of [made.keyId, 'e2e-dev']) {
      const rotated = await acme.post(`/v1/keys/${keyId}/rotate`, { graceSeconds: 0 });
      assert.equal(rotated.status, 404, `${route('POST /v1/keys/{keyId}/rotate')} ${keyId}: ${JSON.stringify(rotated.body)}`);
    }
    for (const keyId of [made.keyId, 'e2e-dev']) {
      const revoked = await acme.json(`/v1/keys/${keyId}`, { method: 'DELETE' });
      assert.equal(revoked.status, 404, `${route('DELETE /v1/keys/{keyId}')} ${keyId}: ${JSON.stringify(revoked.body)}`);
    }
    const created = await acme.post('/v1/keys', { name: 'acme ci', scopes: ['tasks'] });
    assert.equal(created.status, 201, route('POST /v1/keys'));
    assert.equal(created.body.tenant, 'acme');
    assert.ok(!(await dev.get('/v1/keys')).body.keys.some((k: { id: string }) => k.id === created.body.id), "acme's key in dev's list");

    const review = await acme.get('/v1/access-review');
    assert.equal(review.status, 200, `${route('GET /v1/access-review')}: ${JSON.stringify(review.body)}`);
    assert.deepEqual(review.body.keys.filter((k: { keyId: string }) => k.keyId === made.keyId || k.keyId === 'e2e-dev'), []);
    assert.deepEqual(leaked(review.body), []);
    assert.ok(!JSON.stringify(review.body).includes('e2e-dev'), `dev's file key in acme's review: ${JSON.stringify(review.body)}`);
    const csv = await (await acme.request('/v1/access-review?format=csv')).text();
    assert.ok(!csv.includes('e2e-dev') && !csv.includes(made.keyId), `dev's keys in acme's CSV review: ${csv}`);
  });

  it('guard: acme has its own policy and cannot reveal dev\'s pseudonyms', async () => {
    const policy = await acme.get('/v1/guard/policy');
    assert.equal(policy.status, 200, route('GET /v1/guard/policy'));
    assert.deepEqual([policy.body.version, policy.body.output.mode, policy.body.output.allowValues], [0, 'placeholder', []]);
    const set = await acme.json('/v1/guard/policy', { method: 'PUT', body: JSON.stringify({ output: { allowValues: ['help@acme.example'] } }) });
    assert.equal(set.status, 200, `${route('PUT /v1/guard/policy')}: ${JSON.stringify(set.body)}`);
    assert.deepEqual((await dev.get('/v1/guard/policy')).body, made.policy, "dev's policy unchanged by acme's");

    const output = await acme.post('/v1/guard/output', { text: `write to ${DEV_EMAIL}` });
    assert.equal(output.status, 200, route('POST /v1/guard/output'));
    assert.equal(output.body.text, 'write to [EMAIL]', "acme's policy applies, never dev's pseudonyms");
    const input = await acme.post('/v1/guard/input', { text: 'hello there' });
    assert.deepEqual([input.status, input.body.policyVersion], [200, set.body.version], route('POST /v1/guard/input'));
    const reveal = await acme.post('/v1/guard/reveal', { text: `mail ${made.token}` });
    assert.equal(reveal.status, 200, `${route('POST /v1/guard/reveal')}: ${JSON.stringify(reveal.body)}`);
    assert.deepEqual(reveal.body, { text: `mail ${made.token}`, revealed: 0, unknown: 1 });
  });

  it('NATS: acme\'s publisher is refused everything of dev\'s, and its task with dev\'s task id stays acme\'s', async () => {
    const { nc, refused } = await tenantNats(mesh, 'acme', 'acme-isolation');
    try {
      // acme's own task, given dev's task id: an acme task, dev's result untouched.
      const results = nc.subscribe(Subjects.tenantResults('acme'));
      await nc.flush();
      await nc.jetstream().publish(Subjects.task('acme', 'helper'), encodeJson({ input: 'acme reuses the id', taskId: made.taskId }), { msgID: `acme:${made.taskId}` });
      const message = await waitFor(async () => {
        for await (const m of results) return m;
        return undefined;
      }, { description: `acme's result of task ${made.taskId}`, timeoutMs: 30_000 });
      assert.equal(message.subject, Subjects.result('acme', 'helper', made.taskId));
      assert.equal((decodeJson(message.data) as { data: { output: string } }).data.output, 'reply to: acme reuses the id');
      assert.deepEqual((await dev.get(`/v1/tasks/${made.taskId}`)).body, made.task, "dev's task and result unchanged");
      assert.equal((await acme.get(`/v1/tasks/${made.taskId}`)).body.result?.output, 'reply to: acme reuses the id', "the task is acme's own");

      // Tenant, user and key in the body of acme's own task: the subject's tenant rules, dev's memories stay out.
      const forged = 'tsk_acme_says_it_is_dev';
      // acme's own tiny day budget on the key id e2e-dev (set above) refuses a call that costs anything: lifted
      // for this task, so its model call (and what it was given) can be checked, and set again after.
      const keyBudget = '/v1/budgets/key/day?scopeId=e2e-dev';
      const lifted = await acme.json(keyBudget, { method: 'DELETE' });
      assert.ok(lifted.status < 300, `acme lifts its own key budget: ${lifted.status} ${JSON.stringify(lifted.body)}`);
      const mark = fake.requests.length;
      await nc.jetstream().publish(
        Subjects.task('acme', 'helper'),
        encodeJson({ input: 'what tea do I like?', taskId: forged, tenant: 'dev', userId: 'ada', apiKeyId: 'e2e-dev' }),
        { msgID: `acme:${forged}` },
      );
      const forgedView = await finished(acme, forged);
      assert.equal(forgedView.status, 'succeeded', JSON.stringify(forgedView));
      assert.ok(!JSON.stringify(fake.requests.slice(mark).map((r) => r.body)).includes('green tea'), "a tenant field in the body recalled dev's memories");
      assert.equal((await dev.get(`/v1/tasks/${forged}`)).status, 404, "a tenant field in the body made a task of dev's");
      await waitFor(async () => ((await acme.get('/v1/usage')).body.records.some((r: { taskId?: string }) => r.taskId === forged) ? true : undefined), {
        description: `acme's usage record of ${forged}`,
        timeoutMs: 10_000,
        intervalMs: 200,
      });
      assert.ok(!(await dev.get('/v1/usage?limit=500')).body.records.some((r: { taskId?: string }) => r.taskId === forged), "acme's task was charged to dev");
      const reset = await acme.json('/v1/budgets', { method: 'PUT', body: JSON.stringify({ scope: 'key', scopeId: 'e2e-dev', window: 'day', limitUsd: 0.000001 }) });
      assert.equal(reset.status, 200, `acme sets its key budget again: ${JSON.stringify(reset.body)}`);

      await assert.rejects(
        nc.jetstream().publish(Subjects.task('dev', 'helper'), encodeJson({ input: 'not mine', taskId: made.taskId }), { timeout: 3_000 }),
        /Permissions Violation for Publish to "keelson\.tasks\.dev\.helper"/,
      );
      const subscriptions = [Subjects.tenantResults('dev'), 'keelson.runs.dev.>', AuditSubjects.all, UsageSubjects.all, '$JS.API.>'];
      for (const subject of subscriptions) nc.subscribe(subject);
      const rpc: [string, unknown][] = [
        [`$JS.API.STREAM.INFO.${Streams.results.name}`, {}],
        [`$JS.API.CONSUMER.CREATE.${Streams.results.name}`, { stream_name: Streams.results.name, config: { filter_subject: Subjects.tenantResults('dev'), ack_policy: 'none' } }],
        [`$JS.API.CONSUMER.CREATE.${Streams.runs.name}`, { stream_name: Streams.runs.name, config: { filter_subject: 'keelson.runs.dev.>', ack_policy: 'none' } }],
        [Subjects.invokeRpc, { tenant: 'dev', agentId: 'helper', messages: [{ role: 'user', content: 'what tea do I like?' }], userId: 'ada' }],
        [MemorySubjects.getRpc, { tenant: 'dev', id: made.memoryId }],
        [MemorySubjects.deleteRpc, { tenant: 'dev', id: made.memoryId }],
        [MemorySubjects.searchRpc, { tenant: 'dev', query: 'tea' }],
        [MemorySubjects.eraseRpc, { tenant: 'dev', userId: 'ada' }],
        [MemorySubjects.upsertRpc, { tenant: 'dev', items: [{ id: made.memoryId, namespace: 'user:ada', text: 'overwritten' }] }],
        [GuardSubjects.revealRpc, { tenant: 'dev', text: made.token }],
        [GuardSubjects.policyRpc, { tenant: 'dev', policy: {} }],
        [AuditSubjects.queryRpc, { tenant: 'dev', sessionId: made.sessionId }],
        [AuditSubjects.verifyRpc, { tenant: 'dev' }],
        [Subjects.approval('dev', made.approvalId), { decision: 'approve' }],
        [MemorySubjects.writes('dev'), { userId: 'ada', userText: 'I hate tea', agentId: 'helper' }],
        [Subjects.sessionTurn('dev', made.sessionId), { content: 'acme was here' }],
        [Subjects.sessionSteer('dev', made.sessionId), { content: 'acme was here' }],
        [Subjects.sessionCancel('dev', made.sessionId), { sessionId: made.sessionId, beforeTurn: 99 }],
        [AuditSubjects.event('dev', 'admin'), { type: 'admin.key_revoked', tenant: 'dev' }],
        [UsageSubjects.record('dev', 'helper'), { tenant: 'dev', costMicroUsd: 1e9 }],
        [Subjects.result('dev', 'helper', made.taskId), { data: { status: 'failed' } }],
      ];
      for (const [subject, body] of rpc) nc.publish(subject, encodeJson(body), { reply: `${mesh.natsCredentials.acme!.inboxPrefix}.x` });
      const expected = new Set([
        ...subscriptions.map((s) => `subscription to ${s}`),
        ...rpc.map(([s]) => `publish to ${s}`),
        `publish to ${Subjects.task('dev', 'helper')}`,
      ]);
      await waitFor(() => [...expected].every((e) => refused.includes(e)), {
        description: `the server to refuse every attempt; refused so far: ${JSON.stringify(refused)}`,
        timeoutMs: 10_000,
      });
      assert.deepEqual(new Set(refused), expected);
    } finally {
      await nc.close();
    }
  });

  it('dev\'s resources are as they were after everything acme tried', async () => {
    const session = (await dev.get(`/v1/sessions/${made.sessionId}`)).body;
    assert.deepEqual({ ...session, expiresAt: undefined }, { ...made.session, expiresAt: undefined }, 'session and history intact');
    assert.equal((await dev.get(`/v1/ops/runs?sessionId=${made.sessionId}`)).body.steps.length, made.sessionSteps, 'run log intact');
    assert.deepEqual((await dev.get(`/v1/tasks/${made.taskId}`)).body, made.task, 'task and result intact');
    assert.deepEqual((await dev.get(`/v1/memories/${made.memoryId}`)).body, made.memory, 'memory intact');
    assert.deepEqual((await dev.get('/v1/budgets')).body.budgets.map(limitsOf), made.budgets, 'budgets intact');
    const key = (await dev.get('/v1/keys')).body.keys.find((k: { id: string }) => k.id === made.keyId);
    assert.equal(key?.status, 'active', 'key still active');
    assert.equal((await client(mesh.base, made.key).get('/v1/tasks/tsk_none')).status, 404, 'the key still authenticates');
    const viaKey = await client(mesh.base, made.key).post('/v1/tasks', { agentId: 'helper', input: 'still mine' });
    assert.equal(viaKey.status, 202, `acme's budget on dev's key id holds dev's key back: ${JSON.stringify(viaKey.body)}`);
    const viaFileKey = await dev.post('/v1/agents/helper/invoke', { input: 'still mine' });
    assert.equal(viaFileKey.status, 200, `acme's budget on dev's file key id holds dev back: ${JSON.stringify(viaFileKey.body)}`);
    assert.deepEqual((await dev.get('/v1/guard/policy')).body, made.policy, 'guard policy intact');
    assert.equal((await dev.post('/v1/guard/reveal', { text: made.token })).body.text, DEV_EMAIL, 'pseudonym still revealable by dev');
    const decided = await dev.post(`/v1/approvals/${made.approvalId}`, { decision: 'reject', reason: 'done testing' });
    assert.deepEqual([decided.status, decided.body], [202, { approvalId: made.approvalId, status: 'rejected' }], 'the approval was still dev\'s to decide');
    assert.equal((await dev.get('/v1/audit/verify')).body.ok, true, "dev's audit chain verifies");
  });

  it('covers every route of openapi.json and the gateway\'s controllers with an isolation case', () => {
    const routes = new Set([...openApiRoutes(), ...controllerRoutes()]);
    const missing = [...routes].filter((r) => !(r in TABLE));
    assert.deepEqual(missing, [], `routes without an isolation case; add each to TABLE in e2e/src/tenant-isolation.e2e-spec.ts: ${missing.join(', ')}`);
    const unexercised = Object.entries(TABLE).filter(([r, c]) => !('exempt' in c) && !exercised.has(r)).map(([r]) => r);
    assert.deepEqual(unexercised, [], 'cases in the table that no test tried');
    const stale = Object.keys(TABLE).filter((r) => !routes.has(r));
    assert.deepEqual(stale, [], 'table entries for routes that no longer exist');
  });
});

/** The parts of a budget that only a change of the budget changes (not what was spent). */
function limitsOf(b: { scope: string; scopeId?: string; window: string; limitMicroUsd?: number; limitUsd?: number }) {
  return { scope: b.scope, scopeId: b.scopeId, window: b.window, limit: b.limitMicroUsd ?? b.limitUsd };
}
