import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Subjects } from '@keelson/contracts';
import { encodeJson } from '@keelson/messaging';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import type { NatsConnection } from 'nats';
import { client } from './support/http';
import { OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';
import { tenantNats } from './support/tenant-nats';

const KEY = 'sk-rollouts-e2e-51c2';
/** Every replica re-reads rollouts and kill switches every second (docs/rollouts.md): wait that long and a bit. */
const PROPAGATION_MS = 1_500;
const settle = () => new Promise((resolve) => setTimeout(resolve, PROPAGATION_MS));

const agent = (version: string, model: string) =>
  JSON.stringify({
    id: 'oracle',
    version,
    description: 'answers from an OpenAI-compatible model',
    model: { provider: 'openai', name: model },
    systemPrompt: 'Answer briefly.',
    limits: { maxOutputTokens: 64, maxSteps: 1, timeoutMs: 30_000 },
  });

/**
 * The whole mesh with two versions of one agent: stable on a model that answers, the canary on a model the
 * provider refuses (a setting the new version got wrong: 400 from an OpenAI-compatible server). Under a small
 * load the gateway's evaluator rolls the canary back by itself; then kill switches stop the agent and a tenant,
 * at the gateway and in the task-worker for a task published straight onto NATS.
 */
describe('rollouts and kill switches through the whole mesh', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let ops: ReturnType<typeof client>;
  let acme: ReturnType<typeof client>;
  let acmeNats: NatsConnection;

  before(async () => {
    fake = await startFakeOpenAI(
      (request) =>
        (request.body as { model: string }).model === 'gpt-broken'
          ? { status: 400, message: "Unsupported value: 'temperature' does not support 3 with this model." }
          : { text: ['All ', 'good.'] },
      { apiKey: KEY },
    );
    const dir = mkdtempSync(join(tmpdir(), 'keelson-rollouts-'));
    const keyFile = join(dir, 'openai-key');
    writeFileSync(keyFile, `${KEY}\n`);
    const agents = join(dir, 'agents');
    mkdirSync(agents);
    writeFileSync(join(agents, 'oracle.json'), agent('1', 'gpt-good'));
    writeFileSync(join(agents, 'oracle@2.json'), agent('2', 'gpt-broken'));
    mesh = await startMesh({
      env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile, OPS_OPERATOR_TENANTS: 'dev', ROLLOUT_EVALUATE_INTERVAL_MS: '200' },
    });
    ops = client(mesh.base);
    acme = client(mesh.base, OTHER_TENANT_KEY);
    ({ nc: acmeNats } = await tenantNats(mesh, 'acme', 'acme-publisher'));
  });
  after(async () => {
    await acmeNats?.close();
    await mesh?.stop();
    await fake?.stop();
  });

  const invoke = (api: ReturnType<typeof client>, input: string) => api.post('/v1/agents/oracle/invoke', { input });
  const put = (path: string, body: unknown) => ops.json(path, { method: 'PUT', body: JSON.stringify(body) });

  it('refuses a tenant that is not an operator', async () => {
    assert.equal((await acme.get('/v1/rollouts')).status, 403);
    assert.equal((await acme.json('/v1/kill-switches/agent/oracle', { method: 'PUT', body: JSON.stringify({ reason: 'x' }) })).status, 403);
  });

  it('rolls a failing canary back by itself under load, and every run is on stable after', async () => {
    const started = await put('/v1/rollouts/oracle', { stable: '1', canary: '2', canaryShare: 0.5, thresholds: { maxErrorRate: 0.2, minRuns: 5 } });
    assert.equal(started.status, 200, JSON.stringify(started.body));
    // A small load, four at a time, until the evaluator acts (about half the requests meet the canary).
    const statuses: number[] = [];
    await waitFor(
      async () => {
        const batch = await Promise.all(Array.from({ length: 4 }, (_, i) => invoke(ops, `question ${statuses.length + i}`)));
        statuses.push(...batch.map((r) => r.status));
        const view = await ops.get('/v1/rollouts/oracle');
        return view.body.state === 'rolled_back' ? view.body : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 50, description: 'the evaluator to roll the canary back' },
    );
    const view = (await ops.get('/v1/rollouts/oracle')).body;
    assert.equal(view.canaryShare, 0);
    assert.equal(view.updatedBy, 'evaluator');
    assert.match(view.reason, /automatic rollback: error rate \d+\.\d% above 20\.0%/);
    assert.ok(view.verdict.canary.runs >= 5, `judged after minRuns, got ${view.verdict.canary.runs} canary runs`);
    assert.equal(view.verdict.canary.failures, view.verdict.canary.runs, 'every canary run failed');
    assert.equal(view.verdict.stable.failures, 0);
    assert.ok(statuses.includes(200) && statuses.some((s) => s >= 400), `both versions served before the rollback: ${statuses.join(',')}`);

    await settle();
    const after = await Promise.all(Array.from({ length: 12 }, (_, i) => invoke(ops, `after ${i}`)));
    assert.deepEqual(after.map((r) => r.status), Array(12).fill(200), `all on stable once rolled back: ${JSON.stringify(after.find((r) => r.status !== 200)?.body)}`);

    const events = await waitFor(
      async () => {
        const page = await ops.get('/v1/audit/events?type=admin.rollout_rolled_back');
        return page.body?.events?.length ? page.body.events : undefined;
      },
      { timeoutMs: 15_000, description: 'admin.rollout_rolled_back in the audit trail' },
    );
    assert.equal(events.length, 1, 'one rollback, though every gateway evaluator judged');
    assert.equal(events[0].actor.kind, 'system');
    assert.equal(events[0].data.canaryOutcomes.failures, view.verdict.canary.failures);
  });

  it('keeps a session on one version across turns', async () => {
    await put('/v1/rollouts/oracle', { stable: '1', canary: '2', canaryShare: 0.5, thresholds: { maxErrorRate: 1, minRuns: 1000 } });
    for (let s = 0; s < 6; s++) {
      const session = await ops.post('/v1/sessions', { agentId: 'oracle' });
      const turns = [];
      for (let t = 0; t < 3; t++) turns.push((await ops.post(`/v1/sessions/${session.body.sessionId}/messages`, { content: `turn ${t}` })).status);
      assert.equal(new Set(turns).size, 1, `session ${s}: every turn on one version (${turns.join(',')})`);
    }
    const rolledBack = await ops.post('/v1/rollouts/oracle/rollback', { reason: 'done with the session check' });
    assert.equal(rolledBack.status, 200, JSON.stringify(rolledBack.body));
    assert.equal(rolledBack.body.state, 'rolled_back');
    await settle();
  });

  it('stops an agent for every tenant with a kill switch, and lets it run again when cleared', async () => {
    const set = await put('/v1/kill-switches/agent/oracle', { reason: 'INC-1: wrong answers' });
    assert.equal(set.status, 200);
    for (const api of [ops, acme]) {
      const res = await invoke(api, 'hello');
      assert.equal(res.status, 503);
      assert.equal(res.body.error.code, 'agent_disabled');
      assert.match(res.body.error.message, /INC-1/);
    }
    const task = await ops.post('/v1/tasks', { agentId: 'oracle', input: 'later' });
    assert.equal(task.status, 503);
    assert.equal(task.body.error.code, 'agent_disabled');
    assert.equal((await ops.json('/v1/kill-switches/agent/oracle', { method: 'DELETE' })).status, 200);
    await settle();
    const back = await invoke(ops, 'back');
    assert.equal(back.status, 200, JSON.stringify(back.body));
  });

  it('suspends a tenant: its requests are refused, its task published onto NATS ends failed, other tenants run', async () => {
    assert.equal((await put('/v1/kill-switches/tenant/acme', { reason: 'INC-2: abuse' })).status, 200);
    const refused = await invoke(acme, 'hello');
    assert.equal(refused.status, 503);
    assert.equal(refused.body.error.code, 'tenant_suspended');
    const dev = await invoke(ops, 'dev still runs');
    assert.equal(dev.status, 200, JSON.stringify(dev.body));

    // Past the gateway: the task-worker ends it failed with the code rather than running it.
    await settle(); // every replica's snapshot has the switch
    const taskId = 'tsk_suspended_1';
    await acmeNats.jetstream().publish(Subjects.task('acme', 'oracle'), encodeJson({ input: 'queued on NATS', taskId }), { msgID: `acme:${taskId}` });
    const view = await waitFor(
      async () => {
        const res = await acme.get(`/v1/tasks/${taskId}`);
        return res.status === 200 && res.body.status === 'failed' ? res.body : undefined;
      },
      { timeoutMs: 20_000, description: `task ${taskId} to end failed` },
    );
    assert.equal(view.error.code, 'tenant_suspended');
    assert.equal(view.attempts, 1, 'not retried');

    const list = await ops.get('/v1/kill-switches');
    assert.deepEqual(list.body.killSwitches.map((s: { kind: string; id: string }) => `${s.kind}:${s.id}`), ['tenant:acme']);
    assert.equal((await ops.json('/v1/kill-switches/tenant/acme', { method: 'DELETE' })).status, 200);
    await settle();
    const back = await invoke(acme, 'back');
    assert.equal(back.status, 200, JSON.stringify(back.body));
    const audit = await waitFor(
      async () => {
        const page = await ops.get('/v1/audit/events?type=admin.kill_switch_cleared');
        return page.body?.events?.length === 2 ? page.body.events : undefined;
      },
      { timeoutMs: 15_000, description: 'both kill_switch_cleared events' },
    );
    assert.equal(audit.length, 2);
  });
});
