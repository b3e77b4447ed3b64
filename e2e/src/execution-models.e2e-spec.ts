import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Streams, Subjects, taskIdForKey, taskMsgId } from '@keelson/contracts';
import { waitFor } from '@keelson/testing';
import { headers as natsHeaders, JSONCodec } from 'nats';
import WebSocket from 'ws';
import { client, readSse } from './support/http';
import { API_KEY, OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';

const codec = JSONCodec<any>();

/** Reads every result for a task from the results stream, the way a subscribing team would. */
async function resultsFor(mesh: Mesh, agentId: string, taskId: string, expected = 1, timeoutMs = 30_000): Promise<any[]> {
  const consumer = await mesh.nc.jetstream().consumers.get(Streams.results.name, {
    filterSubjects: Subjects.result('dev', agentId, taskId),
  });
  const seen: any[] = [];
  await waitFor(
    async () => {
      const batch = await consumer.fetch({ max_messages: expected - seen.length, expires: 1_000 });
      for await (const m of batch) seen.push(codec.decode(m.data));
      return seen.length >= expected ? seen : undefined;
    },
    { description: `${expected} result(s) for ${taskId}`, timeoutMs, intervalMs: 10 },
  );
  return seen;
}

describe('the three execution models through the whole mesh', () => {
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    mesh = await startMesh({ taskWorkers: 1, sessionAgents: 1 });
    api = client(mesh.base);
  });
  after(async () => mesh?.stop());

  it('answers a stateless invoke with the output and token usage', async () => {
    const res = await api.post('/v1/agents/assistant/invoke', { input: 'hello there' });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.agentId, 'assistant');
    assert.match(res.body.output, /hello there/);
    assert.ok(res.body.usage.inputTokens > 0 && res.body.usage.outputTokens > 0);
    assert.equal(res.body.usage.totalTokens, res.body.usage.inputTokens + res.body.usage.outputTokens);
  });

  it('accepts the full context as messages for a stateless invoke', async () => {
    const res = await api.post('/v1/agents/assistant/invoke', {
      messages: [
        { role: 'user', content: 'my favourite colour is teal' },
        { role: 'assistant', content: 'teal is a fine colour' },
        { role: 'user', content: 'what is my name?' },
      ],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.match(res.body.output, /my favourite colour is teal/);
  });

  it('keeps a session across two turns: the second reply shows the first turn', async () => {
    const created = await api.post('/v1/sessions', { agentId: 'assistant' });
    assert.equal(created.status, 201);
    const { sessionId } = created.body;
    const first = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'hello, my favourite colour is teal' });
    assert.equal(first.status, 200, JSON.stringify(first.body));
    assert.equal(first.body.turn, 1);
    const second = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'what did I say?' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.turn, 2);
    assert.match(second.body.output, /hello, my favourite colour is teal/);
    const view = await api.get(`/v1/sessions/${sessionId}`);
    assert.equal(view.body.turns, 2);
    assert.deepEqual(
      view.body.messages.map((m: any) => m.role),
      ['user', 'assistant', 'user', 'assistant'],
    );
  });

  it('keeps turns sent at once in order, one at a time', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const replies = await Promise.all(
      ['one', 'two', 'three'].map((content) => api.post(`/v1/sessions/${sessionId}/messages`, { content })),
    );
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200]);
    const view = await api.get(`/v1/sessions/${sessionId}`);
    const userMessages = view.body.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content);
    const byTurn = replies.map((r) => r.body.turn).sort();
    assert.deepEqual(byTurn, [1, 2, 3]);
    // The stored order is the order turns were numbered in, whatever order the requests raced in.
    const contentByTurn = new Map(replies.map((r, i) => [r.body.turn, ['one', 'two', 'three'][i]]));
    assert.deepEqual(userMessages, [1, 2, 3].map((t) => contentByTurn.get(t)));
  });

  it('keeps every turn queued behind a slow one: none is skipped, all answer in order', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const slow = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:4000__' });
    await waitFor(async () => ((await api.get(`/v1/sessions/${sessionId}`)).body ? true : undefined), { description: 'session' });
    const rest = await Promise.all(
      ['second', 'third', 'fourth'].map((content) => api.post(`/v1/sessions/${sessionId}/messages`, { content })),
    );
    const replies = [await slow, ...rest];
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200], JSON.stringify(replies.map((r) => r.body)));
    const view = (await api.get(`/v1/sessions/${sessionId}`)).body;
    assert.equal(view.turns, 4);
    assert.equal(view.messages.length, 8, 'every turn kept its question and its answer');
  });

  it('streams a reply as SSE events', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const res = await api.request(`/v1/sessions/${sessionId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: 'stream this please' }),
      headers: { accept: 'text/event-stream' },
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const events = await readSse(res);
    const names = events.map((e) => e.event);
    assert.equal(names[0], 'run.started');
    assert.ok(names.includes('run.delta'));
    assert.equal(names.at(-1), 'run.completed');
    const streamed = events.filter((e) => e.event === 'run.delta').map((e) => e.data.data.text).join('');
    assert.equal(streamed, events.at(-1)!.data.data.outcome.output);
    assert.equal(events[0]!.data.specversion, '1.0');
    assert.equal(events[0]!.data.tenantid, 'dev');
  });

  it('streams a reply over the session WebSocket', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const ws = new WebSocket(`${mesh.base.replace('http', 'ws')}/v1/sessions/${sessionId}/ws`, {
      headers: { authorization: `Bearer ${API_KEY}` },
    });
    const frames: any[] = [];
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ content: 'over the socket' })));
      ws.on('message', (raw) => {
        const frame = JSON.parse(raw.toString());
        frames.push(frame);
        if (frame.event === 'run.completed' || frame.event === 'error') resolve();
      });
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(frames[0].event, 'run.started');
    assert.equal(frames.at(-1).event, 'run.completed');
    assert.match(frames.at(-1).data.data.outcome.output, /over the socket/);
  });

  it('refuses a WebSocket without a valid key with a plain 401', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${mesh.base.replace('http', 'ws')}/v1/sessions/${sessionId}/ws`, {
        headers: { authorization: 'Bearer nope' },
      });
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('error', () => undefined);
    });
    assert.equal(status, 401);
  });

  it('runs a task submitted over HTTP: result via GET, SSE and a NATS subscription', async () => {
    const accepted = await api.post('/v1/tasks', { agentId: 'assistant', input: 'summarise the plan' });
    assert.equal(accepted.status, 202);
    const { taskId } = accepted.body;
    const done = await waitFor(
      async () => {
        const view = await api.get(`/v1/tasks/${taskId}`);
        return view.body.status === 'succeeded' ? view.body : undefined;
      },
      { description: `task ${taskId} to succeed`, timeoutMs: 30_000 },
    );
    assert.match(done.result.output, /summarise the plan/);
    const sse = await readSse(await api.request(`/v1/tasks/${taskId}/events`));
    const names = sse.map((e) => e.event);
    assert.equal(names[0], 'run.started');
    assert.ok(names.includes('run.completed'), names.join(','));
    assert.ok(sse.every((e) => e.event.startsWith('task.') || /^\d+$/.test(e.id ?? '')), 'run events carry their log sequence as id');
    const [result] = await resultsFor(mesh, 'assistant', taskId);
    assert.equal(result.data.status, 'succeeded');
    assert.equal(result.data.output, done.result.output);
  });

  it('resumes task events after the Last-Event-ID a client saw', async () => {
    const { taskId } = (await api.post('/v1/tasks', { agentId: 'assistant', input: 'resume me' })).body;
    await resultsFor(mesh, 'assistant', taskId);
    const all = await readSse(await api.request(`/v1/tasks/${taskId}/events`));
    const resumed = await readSse(await api.request(`/v1/tasks/${taskId}/events`, { headers: { 'last-event-id': all[0]!.id! } }));
    assert.deepEqual(
      resumed.filter((e) => e.id).map((e) => e.id),
      all.filter((e) => e.id).slice(1).map((e) => e.id),
    );
    const malformed = await api.json(`/v1/tasks/${taskId}/events`, { headers: { 'last-event-id': 'yesterday' } });
    assert.equal(malformed.status, 400);
    assert.equal(malformed.body.error.field, 'Last-Event-ID');
    const beyond = await api.json(`/v1/tasks/${taskId}/events`, { headers: { 'last-event-id': '999999999' } });
    assert.equal(beyond.status, 400, 'a sequence the run log never had');
  });

  it('runs a task published straight onto NATS; its result lands on the result stream', async () => {
    const js = mesh.nc.jetstream();
    const h = natsHeaders();
    h.set('Nats-Msg-Id', taskMsgId('dev', 'nats-direct-1'));
    const ack = await js.publish(Subjects.task('dev', 'assistant'), codec.encode({ input: 'from a NATS publisher' }), { headers: h });
    assert.equal(ack.duplicate, false);
    const taskId = taskIdForKey('dev', 'nats-direct-1');
    const [result] = await resultsFor(mesh, 'assistant', taskId);
    assert.equal(result.data.taskId, taskId);
    assert.match(result.data.output, /from a NATS publisher/);
    assert.equal(result.type, 'dev.keelson.task.completed.v1');
  });

  it('gives one task and one result to an idempotency key used over HTTP and then NATS', async () => {
    const first = await api.post('/v1/tasks', { agentId: 'assistant', input: 'only once', idempotencyKey: 'shared-key' });
    const again = await api.post('/v1/tasks', { agentId: 'assistant', input: 'only once', idempotencyKey: 'shared-key' });
    assert.equal(again.body.taskId, first.body.taskId);
    assert.equal(again.body.duplicate, true);
    const h = natsHeaders();
    h.set('Nats-Msg-Id', taskMsgId('dev', 'shared-key'));
    const ack = await mesh.nc.jetstream().publish(Subjects.task('dev', 'assistant'), codec.encode({ input: 'only once' }), { headers: h });
    assert.equal(ack.duplicate, true, 'JetStream should have dropped the NATS copy as a duplicate');
    const results = await resultsFor(mesh, 'assistant', first.body.taskId);
    assert.equal(results.length, 1);
    assert.equal(first.body.taskId, taskIdForKey('dev', 'shared-key'));
  });

  it('dead-letters a malformed NATS task with the reason and publishes no result', async () => {
    const h = natsHeaders();
    h.set('Nats-Msg-Id', taskMsgId('dev', 'malformed-1'));
    await mesh.nc.jetstream().publish(Subjects.task('dev', 'assistant'), codec.encode({ input: 42 }), { headers: h });
    const consumer = await mesh.nc.jetstream().consumers.get(Streams.deadLetters.name, {
      filterSubjects: Subjects.deadLetter(Streams.tasks.name),
    });
    const dead = await waitFor(
      async () => {
        const batch = await consumer.fetch({ max_messages: 50, expires: 1_000 });
        for await (const m of batch) if (m.headers?.get('Keelson-Dead-Letter-Msg-Id') === taskMsgId('dev', 'malformed-1')) return m;
        return undefined;
      },
      { description: 'the malformed task on the dead-letter stream', timeoutMs: 20_000 },
    );
    assert.match(dead.headers?.get('Keelson-Dead-Letter-Reason') ?? '', /input/);
    const info = await (await mesh.nc.jetstreamManager()).streams.info(Streams.results.name, {
      subjects_filter: Subjects.result('dev', 'assistant', taskIdForKey('dev', 'malformed-1')),
    });
    assert.equal(info.state.subjects?.[Subjects.result('dev', 'assistant', taskIdForKey('dev', 'malformed-1'))] ?? 0, 0);
  });

  it('never shows one tenant another tenant\'s session or task', async () => {
    const other = client(mesh.base, OTHER_TENANT_KEY);
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const { taskId } = (await api.post('/v1/tasks', { agentId: 'assistant', input: 'private' })).body;
    assert.equal((await other.get(`/v1/sessions/${sessionId}`)).status, 404);
    assert.equal((await other.post(`/v1/sessions/${sessionId}/messages`, { content: 'hi' })).status, 404);
    assert.equal((await other.get(`/v1/tasks/${taskId}`)).status, 404);
  });
});
