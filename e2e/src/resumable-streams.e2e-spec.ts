import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { client, sseEvents, type SseEvent } from './support/http';
import { API_KEY, OTHER_TENANT_KEY, startMesh, type Mesh } from './support/mesh';

interface Frame {
  event: string;
  seq?: number;
  data: any;
}

const runIdOf = (e: { data: any }) => e.data?.data?.runId as string | undefined;

/** Reads an SSE response until `stop` says so (inclusive), then aborts the request. */
async function readUntil(res: Response, abort: AbortController, stop: (e: SseEvent, all: SseEvent[]) => boolean): Promise<SseEvent[]> {
  const seen: SseEvent[] = [];
  const timer = setTimeout(() => abort.abort(), 30_000);
  try {
    for await (const event of sseEvents(res)) {
      seen.push(event);
      if (stop(event, seen)) break;
    }
  } catch (err) {
    if (!abort.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    abort.abort();
  }
  return seen;
}

/** A session WebSocket whose frames are queued, so a test can wait for the next matching frames. */
async function openSocket(mesh: Mesh, sessionId: string, key = API_KEY) {
  const ws = new WebSocket(`${mesh.base.replace('http', 'ws')}/v1/sessions/${sessionId}/ws`, { headers: { authorization: `Bearer ${key}` } });
  const frames: Frame[] = [];
  let wake: (() => void) | undefined;
  ws.on('message', (raw) => {
    frames.push(JSON.parse(raw.toString()) as Frame);
    wake?.();
  });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  return {
    ws,
    frames,
    send: (body: unknown) => ws.send(JSON.stringify(body)),
    /** Waits until `done(frames)` holds. */
    async until(done: (all: Frame[]) => boolean, timeoutMs = 30_000): Promise<Frame[]> {
      const deadline = Date.now() + timeoutMs;
      while (!done(frames)) {
        if (Date.now() > deadline) throw new Error(`timed out; frames: ${JSON.stringify(frames.map((f) => [f.event, f.seq]))}`);
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 200);
        });
      }
      return frames;
    },
  };
}

describe('resumable session streams', () => {
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    mesh = await startMesh({ env: { RUN_LOG_RETENTION_BY_TENANT: '{"acme":"1s"}' } });
    api = client(mesh.base);
  });
  after(async () => mesh?.stop());

  /** Every event of a session's log so far, up to the run.completed of `turns` turns. */
  const fullLog = async (sessionId: string, turns: number): Promise<SseEvent[]> => {
    const abort = new AbortController();
    const res = await api.request(`/v1/sessions/${sessionId}/events`, { signal: abort.signal });
    assert.equal(res.status, 200);
    let completed = 0;
    return readUntil(res, abort, (e) => e.event === 'run.completed' && ++completed === turns);
  };

  it('resumes a turn cut off mid-stream with Last-Event-ID: the missed events once each, then live ones', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const cut = new AbortController();
    const res = await api.request(`/v1/sessions/${sessionId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: 'tell me a long enough story to stream in several pieces' }),
      headers: { accept: 'text/event-stream' },
      signal: cut.signal,
    });
    assert.equal(res.status, 200);
    // The client goes away after the first two events (a refresh).
    const seen = await readUntil(res, cut, (_e, all) => all.length === 2);
    assert.deepEqual(seen.map((e) => e.event), ['run.started', 'run.delta']);
    assert.ok(seen.every((e) => /^\d+$/.test(e.id ?? '')), 'each event carries its run-log sequence as id');

    const resume = new AbortController();
    const resumedRes = await api.request(`/v1/sessions/${sessionId}/events`, {
      headers: { 'last-event-id': seen.at(-1)!.id! },
      signal: resume.signal,
    });
    assert.equal(resumedRes.status, 200);
    // The same connection stays open: the rest of turn 1, then turn 2 live.
    let completed = 0;
    let secondTurnSent = false;
    const resumed = await readUntil(resumedRes, resume, (e) => {
      if (e.event === 'run.completed') completed++;
      if (completed === 1 && !secondTurnSent) {
        secondTurnSent = true;
        void api.post(`/v1/sessions/${sessionId}/messages`, { content: 'and a second turn' });
      }
      return completed === 2;
    });

    const log = await fullLog(sessionId, 2);
    const ids = (events: SseEvent[]) => events.map((e) => Number(e.id));
    assert.deepEqual([...ids(seen), ...ids(resumed)], ids(log), 'seen + resumed = the whole log: nothing missing, nothing twice');
    assert.equal(new Set(ids(resumed)).size, resumed.length);
    const firstTurn = resumed.filter((e) => runIdOf(e) === `${sessionId}:1`);
    assert.equal(firstTurn.at(-1)!.event, 'run.completed');
    const text = [...seen, ...firstTurn].filter((e) => e.event === 'run.delta').map((e) => e.data.data.text).join('');
    assert.equal(text, firstTurn.at(-1)!.data.data.outcome.output);
    const secondTurn = resumed.filter((e) => runIdOf(e) === `${sessionId}:2`);
    assert.equal(secondTurn[0]!.event, 'run.started');
    assert.equal(secondTurn.at(-1)!.event, 'run.completed');
    assert.match(secondTurn.at(-1)!.data.data.outcome.output, /and a second turn/);
  });

  it('replays the whole session without Last-Event-ID', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    assert.equal((await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'first' })).status, 200);
    assert.equal((await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'second' })).status, 200);
    const log = await fullLog(sessionId, 2);
    assert.equal(log[0]!.event, 'run.started');
    assert.deepEqual(
      log.filter((e) => e.event === 'run.completed').map(runIdOf),
      [`${sessionId}:1`, `${sessionId}:2`],
    );
  });

  it('resumes over the WebSocket with {"resumeFrom": seq}, every frame carrying its seq', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const first = await openSocket(mesh, sessionId);
    first.send({ content: 'stream this over the socket' });
    const early = (await first.until((all) => all.length >= 2)).slice(0, 2);
    first.ws.close();
    assert.deepEqual(early.map((f) => f.event), ['run.started', 'run.delta']);
    assert.ok(early.every((f) => Number.isSafeInteger(f.seq)));

    const second = await openSocket(mesh, sessionId);
    second.send({ resumeFrom: early.at(-1)!.seq });
    await second.until((all) => all.some((f) => f.event === 'run.completed'));
    // Live: a turn sent on the resumed socket arrives once, through the follower.
    second.send({ content: 'next over the socket' });
    const frames = await second.until((all) => all.filter((f) => f.event === 'run.completed').length === 2);
    await new Promise((resolve) => setTimeout(resolve, 300)); // nothing more may arrive
    second.ws.close();

    assert.ok(frames.every((f) => f.event !== 'error'), JSON.stringify(frames.filter((f) => f.event === 'error')));
    const log = await fullLog(sessionId, 2);
    assert.deepEqual(
      [...early, ...second.frames].map((f) => f.seq),
      log.map((e) => Number(e.id)),
      'early + resumed frames = the whole log, once each',
    );
    assert.match(second.frames.at(-1)!.data.data.outcome.output, /next over the socket/);
  });

  it('answers a malformed Last-Event-ID with 400 naming the header, and a bad resumeFrom with an error frame', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    for (const bad of ['abc', '12x', '-1', '1.5', '99999999999']) {
      const res = await api.json(`/v1/sessions/${sessionId}/events`, { headers: { 'last-event-id': bad } });
      assert.equal(res.status, 400, `${bad}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.error.field, 'Last-Event-ID');
    }
    const socket = await openSocket(mesh, sessionId);
    socket.send({ resumeFrom: 'yesterday' });
    const [frame] = await socket.until((all) => all.length === 1);
    socket.ws.close();
    assert.equal(frame!.event, 'error');
    assert.equal(frame!.data.field, 'resumeFrom');
  });

  it('refuses to resume from an event older than the tenant\'s replay window with 410, other tenants unaffected', async () => {
    const acme = client(mesh.base, OTHER_TENANT_KEY);
    const { sessionId } = (await acme.post('/v1/sessions', { agentId: 'assistant' })).body;
    const res = await acme.request(`/v1/sessions/${sessionId}/messages`, {
      method: 'POST',
      body: JSON.stringify({ content: 'soon forgotten' }),
      headers: { accept: 'text/event-stream' },
    });
    const events = await readUntil(res, new AbortController(), (e) => e.event === 'run.completed');
    await new Promise((resolve) => setTimeout(resolve, 1_300)); // acme's window is 1 s

    const refused = await acme.json(`/v1/sessions/${sessionId}/events`, { headers: { 'last-event-id': events[0]!.id! } });
    assert.equal(refused.status, 410, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'replay_window_exceeded');
    assert.equal(refused.body.error.field, 'Last-Event-ID');

    const socket = await openSocket(mesh, sessionId, OTHER_TENANT_KEY);
    socket.send({ resumeFrom: Number(events[0]!.id) });
    const [frame] = await socket.until((all) => all.length === 1);
    socket.ws.close();
    assert.equal(frame!.data.code, 'replay_window_exceeded');

    // A replay without Last-Event-ID starts at the window's edge: the old turn is not replayed.
    const abort = new AbortController();
    const replay = await acme.request(`/v1/sessions/${sessionId}/events`, { signal: abort.signal });
    setTimeout(() => abort.abort(), 1_000);
    const replayed = await readUntil(replay, abort, () => false);
    assert.deepEqual(replayed, []);
  });
});
