import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Streams, Subjects } from '@keelson/contracts';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { JSONCodec } from 'nats';
import { client } from './support/http';
import { OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';

const codec = JSONCodec<any>();

const agentFile = (id: string, timeoutSeconds: number, host: string) => ({
  id,
  version: '1',
  description: 'fetches only with a human approval',
  model: { provider: 'openai', name: 'gpt-test' },
  systemPrompt: 'Use the tool.',
  tools: ['http_fetch'],
  approval: { tools: ['http_fetch'], timeoutSeconds },
  http: { allowHosts: [host] },
  limits: { maxOutputTokens: 256, maxSteps: 3, timeoutMs: 30_000 },
});

/** A task's agent pauses at http_fetch; a decision over HTTP (or none in time) lets any task-worker finish it. */
describe('tool calls that need a human approval', () => {
  let fake: FakeOpenAIHandle;
  let weather: Server;
  let fetched = 0;
  let weatherUrl: string;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    weather = createServer((_req, res) => {
      fetched++;
      res.writeHead(200, { 'content-type': 'text/plain' }).end('the weather is sunny');
    });
    await new Promise<void>((resolve) => weather.listen(0, '127.0.0.1', resolve));
    weatherUrl = `http://127.0.0.1:${(weather.address() as AddressInfo).port}/weather`;
    // The model calls the tool first, then answers with what the tool message said.
    fake = await startFakeOpenAI((request) => {
      const messages = (request.body as { messages: { role: string; content: string }[] }).messages;
      const last = messages.at(-1)!;
      if (last.role === 'tool') return { text: [`model saw: ${last.content}`] };
      return { toolCalls: [{ id: 'call_1', name: 'http_fetch', arguments: JSON.stringify({ url: weatherUrl }) }] };
    });
    const dir = mkdtempSync(join(tmpdir(), 'keelson-approvals-'));
    const keyFile = join(dir, 'openai-key');
    writeFileSync(keyFile, 'sk-approvals\n');
    const agents = join(dir, 'agents');
    mkdirSync(agents);
    writeFileSync(join(agents, 'gatekeeper.json'), JSON.stringify(agentFile('gatekeeper', 3600, '127.0.0.1')));
    writeFileSync(join(agents, 'hasty.json'), JSON.stringify(agentFile('hasty', 1, '127.0.0.1')));
    mesh = await startMesh({ taskWorkers: 1, env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile } });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
    await new Promise((resolve) => weather?.close(resolve));
  });

  /** The run log's events of a task, read from the runs stream, until `until` is among them. */
  async function runEvents(taskId: string, until: string): Promise<any[]> {
    return waitFor(
      async () => {
        const consumer = await mesh.nc.jetstream().consumers.get(Streams.runs.name, { filterSubjects: Subjects.taskRun('dev', taskId) });
        const seen: any[] = [];
        const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
        for await (const m of batch) seen.push(codec.decode(m.data));
        return seen.some((e) => e.type === until) ? seen : undefined;
      },
      { description: `${until} for ${taskId}`, timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  async function pausedTask(agentId: string): Promise<{ taskId: string; approvalId: string }> {
    const created = await api.post('/v1/tasks', { agentId, input: 'what is the weather?' });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const { taskId } = created.body;
    const events = await runEvents(taskId, 'dev.keelson.run.approval_required.v1');
    const required = events.find((e) => e.type === 'dev.keelson.run.approval_required.v1');
    assert.equal(required.data.name, 'http_fetch');
    assert.match(required.data.approvalId, /^apr_[a-f0-9]{32}$/);
    assert.equal((await api.get(`/v1/tasks/${taskId}`)).body.status, 'running');
    return { taskId, approvalId: required.data.approvalId };
  }

  async function finished(taskId: string): Promise<any> {
    return waitFor(
      async () => {
        const view = (await api.get(`/v1/tasks/${taskId}`)).body;
        return view.status === 'succeeded' || view.status === 'failed' ? view : undefined;
      },
      { description: `task ${taskId} to finish`, timeoutMs: 30_000, intervalMs: 100 },
    );
  }

  it('pauses, survives the pausing replica, and resumes on another when approved over HTTP', async () => {
    const { taskId, approvalId } = await pausedTask('gatekeeper');
    assert.equal(fetched, 0, 'the tool did not run before the approval');
    await mesh.apps.get('task-worker-1')!.kill('SIGKILL');
    await mesh.startReplica('task-worker');
    const decided = await api.post(`/v1/approvals/${approvalId}`, { decision: 'approve' });
    assert.equal(decided.status, 202, JSON.stringify(decided.body));
    assert.deepEqual(decided.body, { approvalId, status: 'approved' });
    const view = await finished(taskId);
    assert.equal(view.status, 'succeeded', JSON.stringify(view));
    assert.match(view.result.output, /^model saw: HTTP 200 OK[\s\S]*the weather is sunny$/);
    assert.equal(fetched, 1);
    const events = await runEvents(taskId, 'dev.keelson.run.completed.v1');
    const types = events.map((e) => e.type.replace(/^dev\.keelson\.run\.|\.v1$/g, ''));
    // How the reply is cut into deltas depends on timing (the coalescer flushes every 50 ms); the text does not.
    const kinds = types.filter((t, i) => !(t === 'delta' && types[i - 1] === 'delta'));
    assert.deepEqual(kinds, ['started', 'tool_call', 'approval_required', 'tool_result', 'delta', 'completed']);
    const text = events.filter((e) => e.type.endsWith('.delta.v1')).map((e) => (e.data as { text: string }).text).join('');
    assert.equal(text, view.result.output);
    const again = await api.post(`/v1/approvals/${approvalId}`, { decision: 'reject' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error.code, 'approval_decided');
  });

  it('gives a rejection back to the model as the tool error', async () => {
    const { taskId, approvalId } = await pausedTask('gatekeeper');
    const before = fetched;
    const decided = await api.post(`/v1/approvals/${approvalId}`, { decision: 'reject', reason: 'not today' });
    assert.equal(decided.status, 202, JSON.stringify(decided.body));
    const view = await finished(taskId);
    assert.equal(view.status, 'succeeded', JSON.stringify(view));
    assert.equal(view.result.output, 'model saw: Error: a human rejected this call to "http_fetch": not today');
    assert.equal(fetched, before);
  });

  it('treats an approval past its timeout as rejected, with 409 to the late decision', async () => {
    const { taskId, approvalId } = await pausedTask('hasty');
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const late = await api.post(`/v1/approvals/${approvalId}`, { decision: 'approve' });
    assert.equal(late.status, 409, JSON.stringify(late.body));
    assert.equal(late.body.error.code, 'approval_decided');
    const view = await finished(taskId);
    assert.equal(view.result.output, 'model saw: Error: a human rejected this call to "http_fetch": the approval expired before anyone decided');
  });

  it('ends a wait nobody ends: past its timeout the sweeper rejects the call and the run finishes by itself', async () => {
    const { taskId, approvalId } = await pausedTask('hasty');
    const view = await finished(taskId);
    assert.equal(view.status, 'succeeded', JSON.stringify(view));
    assert.equal(view.result.output, 'model saw: Error: a human rejected this call to "http_fetch": the approval expired before anyone decided');
    const late = await api.post(`/v1/approvals/${approvalId}`, { decision: 'approve' });
    assert.equal(late.status, 409, JSON.stringify(late.body));
  });

  it('answers 404 for an unknown approval and for another tenant', async () => {
    const { approvalId } = await pausedTask('gatekeeper');
    const unknown = await api.post('/v1/approvals/apr_00000000000000000000000000000000', { decision: 'approve' });
    assert.equal(unknown.status, 404);
    assert.equal(unknown.body.error.code, 'approval_not_found');
    const other = await client(mesh.base, OTHER_TENANT_KEY).post(`/v1/approvals/${approvalId}`, { decision: 'approve' });
    assert.equal(other.status, 404);
    const bad = await api.post(`/v1/approvals/${approvalId}`, { decision: 'maybe' });
    assert.equal(bad.status, 400);
  });
});
