import { strict as assert } from 'node:assert';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type { AuditRecord } from '@keelson/contracts';
import { MinioObjectStore, readVerified, regionalBucket } from '@keelson/object-store';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';
import { agentsEnv, fetcherAgent, startPages } from './support/tool-agents';

const LARGE_PAGE = `Contact jane.roe@example.org for access.\n${'lorem ipsum '.repeat(1_200)}`;

/**
 * The audit trail end to end: every service publishes, audit-service stores through a kill -9, and the
 * gateway answers by trace id. The model (a fake OpenAI server) calls http_fetch once, then answers.
 */
describe('audit trail', () => {
  let fake: FakeOpenAIHandle;
  let pages: Awaited<ReturnType<typeof startPages>>;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  const newTrace = () => randomBytes(16).toString('hex');
  const traceparent = (traceId: string) => `00-${traceId}-${randomBytes(8).toString('hex')}-01`;

  async function events(query: string): Promise<AuditRecord[]> {
    const out: AuditRecord[] = [];
    let cursor = '';
    for (;;) {
      const page = await api.get<{ events: AuditRecord[]; nextCursor?: string }>(`/v1/audit/events?${query}${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(page.status, 200, JSON.stringify(page.body));
      out.push(...page.body.events);
      if (!page.body.nextCursor) return out;
      cursor = page.body.nextCursor;
    }
  }

  /**
   * Waits until the events matching `query` include every type of `types`, in that order (others may come
   * between), or in any order with `ordered: false`.
   */
  async function eventsInOrder(query: string, types: string[], { ordered = true, timeoutMs = 30_000 } = {}): Promise<AuditRecord[]> {
    return waitFor(
      async () => {
        const found = await events(query);
        if (!ordered) return types.every((t) => found.some((e) => e.type === t)) ? found : undefined;
        let next = 0;
        for (const e of found) if (e.type === types[next]) next++;
        return next === types.length ? found : undefined;
      },
      { description: `${types.join(ordered ? ' < ' : ', ')} for ${query}`, timeoutMs, intervalMs: 200 },
    );
  }

  before(async () => {
    pages = await startPages((path) => (path === '/large' ? LARGE_PAGE : 'the weather is sunny'));
    fake = await startFakeOpenAI((request) => {
      const messages = (request.body as { messages: { role: string; content: string }[] }).messages;
      const last = messages.at(-1)!;
      if (last.role === 'tool') return { text: ['fetched it'] };
      const path = last.content.includes('large') ? '/large' : '/weather';
      return { toolCalls: [{ id: 'call_1', name: 'http_fetch', arguments: JSON.stringify({ url: `${pages.base}${path}` }) }] };
    });
    // At info, so each audit event is also a log line (joined to its trace and record below).
    mesh = await startMesh({ env: { ...agentsEnv([fetcherAgent(['127.0.0.1'])], fake.baseUrl), LOG_LEVEL: 'info' } });
    api = client(mesh.base);
  });

  after(async () => {
    await mesh?.stop();
    await fake?.stop();
    await pages?.close();
  });

  it('finds a task\'s events by its trace id, in order, from the gateway, the task-worker and the model meter', async () => {
    const traceId = newTrace();
    const created = await api.post('/v1/tasks', { agentId: 'fetcher', input: 'what is the weather?' }, { traceparent: traceparent(traceId) });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    const found = await eventsInOrder(`traceId=${traceId}`, [
      'task.accepted',
      'run.started',
      'model.call',
      'tool.call',
      'tool.result',
      'model.call',
      // The result is stored before the run log ends, so a reader who sees run.completed finds it.
      'task.completed',
      'run.completed',
    ]);
    assert.equal(new Set(found.map((e) => e.id)).size, found.length, 'no event twice');
    assert.ok(found.every((e) => e.tenant === 'dev' && e.traceId === traceId));
    const accepted = found.find((e) => e.type === 'task.accepted')!;
    assert.deepEqual([accepted.service, accepted.actor], ['gateway', { kind: 'api_key', id: 'e2e-dev' }]);
    const result = found.find((e) => e.type === 'tool.result')!;
    assert.deepEqual([result.service, result.taskId], ['task-worker', created.body.taskId]);
    assert.match(String(result.data['tool_result']), /the weather is sunny$/);
    // The step's log line joins its trace and its audit record.
    const started = found.find((e) => e.type === 'run.started')!;
    const line = mesh.apps.get('task-worker-1')!.logs().map((l) => { try { return JSON.parse(l); } catch { return undefined; } })
      .find((l) => l?.message === 'audit event' && l.audit_id === started.id);
    assert.ok(line, 'a log line for the run.started audit event');
    assert.equal(line.trace_id, traceId);
    const call = found.find((e) => e.type === 'model.call')!;
    assert.equal(call.data['model'], 'gpt-test');
    assert.ok(Number(call.data['inputTokens']) > 0);
    // The same range as JSON lines, ending with the trailer that says it is whole. audit-service archives the
    // task's run log after it ends (task.archived, same trace): waited for, so both reads see the same range.
    await waitFor(async () => ((await events(`traceId=${traceId}`)).some((e) => e.type === 'task.archived') ? true : undefined), {
      description: 'the task archived',
      timeoutMs: 20_000,
    });
    const exported = await api.request(`/v1/audit/export?traceId=${traceId}`);
    assert.equal(exported.headers.get('content-type')?.split(';')[0], 'application/x-ndjson');
    const lines = (await exported.text()).trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.at(-1), { export: 'complete', count: lines.length - 1 });
    assert.deepEqual(lines.slice(0, -1).map((r) => r.id), (await events(`traceId=${traceId}`)).map((r) => r.id));
    // Another tenant sees none of it.
    const other = await client(mesh.base, 'ks_e2e_acme_key').get(`/v1/audit/events?traceId=${traceId}`);
    assert.deepEqual([other.status, other.body.events], [200, []]);
  });

  it('finds a session turn\'s events by trace id and archives the session when it is closed', async () => {
    const session = await api.post('/v1/sessions', { agentId: 'fetcher' });
    assert.equal(session.status, 201);
    const sessionId = session.body.sessionId as string;
    const traceId = newTrace();
    const turn = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'weather please' }, { traceparent: traceparent(traceId) });
    assert.equal(turn.status, 200, JSON.stringify(turn.body));
    const found = await eventsInOrder(`traceId=${traceId}`, ['run.started', 'model.call', 'tool.call', 'tool.result', 'model.call', 'run.completed']);
    assert.ok(found.every((e) => e.sessionId === sessionId && e.service === 'session-agent'));

    assert.equal((await api.request(`/v1/sessions/${sessionId}`, { method: 'DELETE' })).status, 204);
    const lifecycle = await eventsInOrder(`sessionId=${sessionId}&type=session`, ['session.opened', 'session.closed', 'session.archived']);
    const ref = lifecycle.find((e) => e.type === 'session.archived')!.refs[0]!;
    assert.equal(ref.bucket, regionalBucket({ account: 'e2e', region: 'us-east-1', purpose: 'archives' }));
    const store = new MinioObjectStore({ url: mesh.s3.url, accessKey: mesh.s3.accessKey, secretKey: mesh.s3.secretKey });
    const lines = (await readVerified(store, ref)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.ok(lines.some((l) => l.type === 'dev.keelson.run.completed.v1'), 'the archive holds the turn\'s run log');
  });

  it('offloads a large tool result to object storage, scrubbed, and references it', async () => {
    const traceId = newTrace();
    const created = await api.post('/v1/tasks', { agentId: 'fetcher', input: 'fetch the large page' }, { traceparent: traceparent(traceId) });
    assert.equal(created.status, 202);
    const found = await eventsInOrder(`traceId=${traceId}`, ['tool.result', 'task.completed']);
    const result = found.find((e) => e.type === 'tool.result')!;
    assert.equal(result.data['tool_result'], undefined, 'not inline');
    const ref = result.refs.find((r) => r.kind === 'tool_result')!;
    assert.equal(ref.bucket, regionalBucket({ account: 'e2e', region: 'us-east-1', purpose: 'payloads' }));
    const store = new MinioObjectStore({ url: mesh.s3.url, accessKey: mesh.s3.accessKey, secretKey: mesh.s3.secretKey });
    const stored = (await readVerified(store, ref)).toString('utf8');
    assert.ok(stored.includes('lorem ipsum'));
    assert.ok(!stored.includes('jane.roe@example.org'), 'the e-mail address was scrubbed before it left the task-worker');
  });

  it('stores every event once when audit-service is killed mid-stream and restarted, and the chain verifies', async () => {
    const traces = Array.from({ length: 6 }, newTrace);
    const taskIds: string[] = [];
    for (const [i, traceId] of traces.entries()) {
      const created = await api.post('/v1/tasks', { agentId: 'fetcher', input: `weather ${i}` }, { traceparent: traceparent(traceId) });
      assert.equal(created.status, 202);
      taskIds.push(created.body.taskId);
      if (i === 2) await mesh.apps.get('audit-service-1')!.kill('SIGKILL');
    }
    await mesh.startReplica('audit-service', { AUDIT_DATA_DIR: mesh.auditDataDir });
    // Events in flight at the kill come back after the consumer's ack wait, behind newer ones: all there, once.
    for (const [i, traceId] of traces.entries()) {
      const types = ['task.accepted', 'run.started', 'model.call', 'tool.call', 'tool.result', 'task.completed', 'run.completed'];
      const found = await eventsInOrder(`traceId=${traceId}`, types, { ordered: false, timeoutMs: 60_000 });
      assert.equal(new Set(found.map((e) => e.id)).size, found.length, `task ${taskIds[i]}: no event twice`);
    }
    const verified = await api.get('/v1/audit/verify');
    assert.equal(verified.status, 200, JSON.stringify(verified.body));
    assert.equal(verified.body.ok, true, JSON.stringify(verified.body));
    assert.ok(verified.body.checked > 40);
  });
});
