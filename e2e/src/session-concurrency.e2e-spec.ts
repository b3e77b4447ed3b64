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
import WebSocket from 'ws';
import { client } from './support/http';
import { API_KEY, startMesh, type Mesh } from './support/mesh';

const codec = JSONCodec<any>();

/**
 * One active run per session: two racing messages under each concurrency policy, through the real processes.
 * The offline model's `__slow:<ms>__` keeps the first turn running while the second arrives; for `steer`, a
 * tool call held open by the test (an OpenAI-compatible fake model that calls http_fetch on a gated server).
 */
describe('session concurrency policies (onBusy) through the whole mesh', () => {
  let mesh: Mesh;
  let api: ReturnType<typeof client>;
  let fake: FakeOpenAIHandle;
  let gate: Server;
  let gateUrl: string;
  let fetches = 0;
  let openGate: () => void = () => undefined;

  /** The events of one turn's run log so far, read the way a NATS subscriber would. */
  const runLog = async (sessionId: string, turn: number): Promise<any[]> => {
    const consumer = await mesh.nc.jetstream().consumers.get(Streams.runs.name, { filterSubjects: Subjects.sessionRun('dev', sessionId, turn) });
    const events: any[] = [];
    for (;;) {
      const m = await consumer.next({ expires: 1_000 });
      if (!m) return events;
      events.push(codec.decode(m.data));
    }
  };
  /** Resolves as soon as the turn's run.started is in the run log. */
  const started = async (sessionId: string, turn: number): Promise<void> => {
    const consumer = await mesh.nc.jetstream().consumers.get(Streams.runs.name, { filterSubjects: Subjects.sessionRun('dev', sessionId, turn) });
    const messages = await consumer.consume();
    const timer = setTimeout(() => messages.stop(), 20_000);
    try {
      for await (const m of messages) if (codec.decode(m.data).type === 'dev.keelson.run.started.v1') return;
      throw new Error(`turn ${turn} of ${sessionId} did not start`);
    } finally {
      clearTimeout(timer);
      messages.stop();
    }
  };
  const newSession = async (agentId = 'assistant') => (await api.post('/v1/sessions', { agentId })).body.sessionId as string;

  before(async () => {
    // The tool's server answers only when the test opens the gate: the run is then between two steps.
    gate = createServer((_req, res) => {
      fetches++;
      openGate = () => res.writeHead(200, { 'content-type': 'text/plain' }).end('the moon is full tonight');
    });
    await new Promise<void>((resolve) => gate.listen(0, '127.0.0.1', resolve));
    gateUrl = `http://127.0.0.1:${(gate.address() as AddressInfo).port}/moon`;
    // Calls the tool first; once it has the tool's result, repeats every user message that came after it.
    fake = await startFakeOpenAI((request) => {
      const messages = (request.body as { messages: { role: string; content: string }[] }).messages;
      const toolAt = messages.findIndex((m) => m.role === 'tool');
      if (toolAt < 0) return { toolCalls: [{ id: 'call_1', name: 'http_fetch', arguments: JSON.stringify({ url: gateUrl }) }] };
      const after = messages.slice(toolAt + 1).filter((m) => m.role === 'user').map((m) => m.content);
      const heard = messages[toolAt]!.content.includes('the moon is full tonight') ? 'the tool answered' : 'no answer';
      return { text: [`${heard}; then you said: ${after.join(' | ') || 'nothing'}`] };
    });
    const agents = mkdtempSync(join(tmpdir(), 'keelson-concurrency-'));
    mkdirSync(agents, { recursive: true });
    writeFileSync(
      join(agents, 'steerable.json'),
      JSON.stringify({
        id: 'steerable',
        version: '1',
        description: 'fetches, then answers; takes steer messages in between',
        model: { provider: 'openai', name: 'gpt-test' },
        systemPrompt: 'Use the tool.',
        tools: ['http_fetch'],
        http: { allowHosts: ['127.0.0.1'] },
        limits: { maxOutputTokens: 256, maxSteps: 3, timeoutMs: 60_000 },
        concurrency: 'steer',
      }),
    );
    const keyFile = join(mkdtempSync(join(tmpdir(), 'keelson-steer-key-')), 'openai-key');
    writeFileSync(keyFile, 'sk-steer\n');
    const agent = (id: string, concurrency?: string) =>
      writeFileSync(
        join(agents, `${id}.json`),
        JSON.stringify({
          id,
          version: '1',
          description: `offline, concurrency ${concurrency ?? 'default'}`,
          model: { provider: 'offline', name: 'offline-echo' },
          systemPrompt: 'Answer briefly.',
          limits: { maxOutputTokens: 256, maxSteps: 1, timeoutMs: 60_000 },
          ...(concurrency ? { concurrency } : {}),
        }),
      );
    agent('assistant');
    agent('strict', 'reject');
    mesh = await startMesh({ env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: keyFile } });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
    gate?.closeAllConnections();
    await new Promise((resolve) => gate?.close(resolve));
  });

  it('reject: the second message gets 409 session_busy with the running run id, queues nothing; the first completes', async () => {
    const sessionId = await newSession();
    const first = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:2000__' });
    await started(sessionId, 1);
    const second = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'me too', onBusy: 'reject' });
    assert.equal(second.status, 409, JSON.stringify(second.body));
    assert.equal(second.body.error.code, 'session_busy');
    assert.equal(second.body.error.runId, `${sessionId}:1`);
    const reply = await first;
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.turn, 1);
    const view = (await api.get(`/v1/sessions/${sessionId}`)).body;
    assert.equal(view.turns, 1);
    assert.deepEqual(view.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content), ['__slow:2000__']);
    const decision = (await runLog(sessionId, 1)).find((e) => e.type === 'dev.keelson.session.policy.v1');
    assert.deepEqual(decision?.data, { sessionId, policy: 'reject', decision: 'rejected', affectedRunId: `${sessionId}:1` });
    // Nothing was reserved: the next message is turn 2.
    assert.equal((await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'now', onBusy: 'reject' })).body.turn, 2);
  });

  it("reject as the agent's own policy (concurrency in the agent file), over the WebSocket", async () => {
    const sessionId = await newSession('strict');
    const first = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:2000__' });
    await started(sessionId, 1);
    const ws = new WebSocket(`${mesh.base.replace('http', 'ws')}/v1/sessions/${sessionId}/ws`, { headers: { authorization: `Bearer ${API_KEY}` } });
    const frame = await new Promise<any>((resolve, reject) => {
      ws.once('open', () => ws.send(JSON.stringify({ content: 'me too' })));
      ws.once('message', (raw) => resolve(JSON.parse(raw.toString())));
      ws.once('error', reject);
    });
    ws.close();
    assert.equal(frame.event, 'error');
    assert.equal(frame.data.code, 'session_busy');
    assert.equal(frame.data.runId, `${sessionId}:1`);
    assert.equal((await first).status, 200);
    // A request's onBusy overrides the agent's policy.
    const slow = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:1000__' });
    await started(sessionId, 2);
    const queued = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'queue me', onBusy: 'enqueue' });
    assert.equal(queued.status, 200, JSON.stringify(queued.body));
    assert.equal(queued.body.turn, 3);
    assert.equal((await slow).status, 200);
  });

  it('enqueue: both are answered, in order, and the decision is logged on the queued turn', async () => {
    const sessionId = await newSession();
    const first = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:1500__' });
    await started(sessionId, 1);
    const second = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'after you' });
    const firstReply = await first;
    assert.deepEqual([firstReply.status, second.status], [200, 200]);
    assert.deepEqual([firstReply.body.turn, second.body.turn], [1, 2]);
    const view = (await api.get(`/v1/sessions/${sessionId}`)).body;
    assert.deepEqual(view.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content), ['__slow:1500__', 'after you']);
    const events = await runLog(sessionId, 2);
    assert.equal(events[0].type, 'dev.keelson.session.policy.v1', 'the decision comes before the run');
    assert.deepEqual(events[0].data, { sessionId, turn: 2, policy: 'enqueue', decision: 'queued', affectedRunId: `${sessionId}:1` });
  });

  it('interrupt: the running turn ends cancelled without a reply, the new one runs at once and is the history', async () => {
    const sessionId = await newSession();
    const first = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:30000__' });
    await started(sessionId, 1);
    const t0 = Date.now();
    const second = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'never mind, this instead', onBusy: 'interrupt' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.turn, 2);
    assert.ok(Date.now() - t0 < 10_000, `the interrupting turn waited ${Date.now() - t0} ms`);
    const firstReply = await first;
    assert.equal(firstReply.status, 409, JSON.stringify(firstReply.body));
    assert.equal(firstReply.body.error.code, 'run_cancelled');
    const view = (await api.get(`/v1/sessions/${sessionId}`)).body;
    assert.equal(view.turns, 2);
    assert.deepEqual(view.messages.map((m: any) => m.role), ['user', 'assistant']);
    assert.equal(view.messages[0].content, 'never mind, this instead');
    const cancelled = (await runLog(sessionId, 1)).at(-1);
    assert.equal(cancelled.type, 'dev.keelson.run.failed.v1');
    assert.equal(cancelled.data.error.code, 'run_cancelled');
    const decision = (await runLog(sessionId, 2))[0];
    assert.deepEqual(decision.data, { sessionId, turn: 2, policy: 'interrupt', decision: 'interrupted', affectedRunId: `${sessionId}:1` });
  });

  it("steer (the agent's policy): the running loop takes the message in at its next step; both get its reply", async () => {
    const sessionId = await newSession('steerable');
    const seen = fetches;
    const first = api.post(`/v1/sessions/${sessionId}/messages`, { content: 'how is the moon?' });
    await waitFor(() => fetches > seen, { description: 'the tool call to start', timeoutMs: 20_000 });
    // Watch for the offer to the session-agent, then give it a moment to arrive there too before the step ends.
    const offers = mesh.nc.subscribe(Subjects.sessionSteer('dev', sessionId), { max: 1 });
    const second = api.post(`/v1/sessions/${sessionId}/messages`, { content: 'and tell me a rhyme' });
    for await (const _ of offers) break;
    await new Promise((resolve) => setTimeout(resolve, 300));
    openGate();
    const [a, b] = await Promise.all([first, second]);
    assert.deepEqual([a.status, b.status], [200, 200], JSON.stringify([a.body, b.body]));
    assert.equal(a.body.output, 'the tool answered; then you said: and tell me a rhyme');
    assert.deepEqual([b.body.turn, b.body.output, b.body.steeredInto], [2, a.body.output, `${sessionId}:1`]);
    const view = (await api.get(`/v1/sessions/${sessionId}`)).body;
    assert.equal(view.turns, 2);
    assert.deepEqual(
      view.messages.map((m: any) => `${m.role}: ${m.content}`),
      ['user: how is the moon?', 'user: and tell me a rhyme', `assistant: ${a.body.output}`],
    );
    const events = await runLog(sessionId, 2);
    assert.deepEqual(events.map((e) => e.type), ['dev.keelson.session.policy.v1', 'dev.keelson.run.completed.v1']);
    assert.deepEqual(events[0].data, { sessionId, turn: 2, policy: 'steer', decision: 'steered', affectedRunId: `${sessionId}:1` });
  });

  it('steer without a next step to take it in: runs as a queued turn, and the decision says why', async () => {
    const sessionId = await newSession();
    const first = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:1500__' });
    await started(sessionId, 1);
    const second = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'steer me', onBusy: 'steer' });
    assert.equal(second.status, 200, JSON.stringify(second.body));
    assert.equal(second.body.turn, 2);
    assert.equal(second.body.steeredInto, undefined);
    assert.match(second.body.output, /You said: "steer me"/);
    assert.equal((await first).status, 200);
    const decision = (await runLog(sessionId, 2))[0];
    assert.deepEqual(
      [decision.data.policy, decision.data.decision, decision.data.affectedRunId],
      ['steer', 'queued', `${sessionId}:1`],
    );
    assert.match(decision.data.reason, /before its next step/);
  });

  it('refuses an unknown onBusy with 400 naming the field', async () => {
    const sessionId = await newSession();
    const res = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'x', onBusy: 'shove' });
    assert.equal(res.status, 400);
    assert.equal(res.body.error.details?.[0]?.field ?? res.body.error.field, 'onBusy');
  });
});
