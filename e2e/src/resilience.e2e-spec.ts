import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Streams } from '@keelson/contracts';
import { waitFor } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

const TASKS = 1_000;

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await work(items[i]!);
      }
    }),
  );
  return out;
}

/** keelson_task_runs_running as a task-worker's /metrics reports it. */
async function runsRunning(port: number): Promise<number> {
  const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
  return Number(/^keelson_task_runs_running(?:\{[^}]*\})? (\d+)$/m.exec(text)?.[1] ?? 0);
}

describe('resilience: replicas die, nothing is lost or doubled', () => {
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    mesh = await startMesh({ taskWorkers: 2, sessionAgents: 1, env: { TURN_TIMEOUT_MS: '120000' } });
    api = client(mesh.base);
  });
  after(async () => mesh?.stop());

  it(`gives each of ${TASKS} tasks exactly one result when a task-worker is killed -9 mid-run`, async () => {
    // Submitting goes on while the worker dies: posted first and killed after, a fast machine had already
    // finished every task and the kill hit nothing.
    const submitted = pool(
      Array.from({ length: TASKS }, (_, i) => i),
      25,
      async (i) => {
        const res = await api.post('/v1/tasks', { agentId: 'assistant', input: '__slow:300__', idempotencyKey: `kill-${i}` });
        assert.equal(res.status, 202, JSON.stringify(res.body));
        return res.body.taskId as string;
      },
    );
    const victimPort = mesh.ports.get('task-worker-1')!;
    await waitFor(async () => ((await runsRunning(victimPort)) >= 3 ? true : undefined), {
      description: 'task-worker-1 running several tasks',
      timeoutMs: 60_000,
      intervalMs: 50,
    });
    await mesh.apps.get('task-worker-1')!.kill('SIGKILL');
    const ids = await submitted;
    const jsm = await mesh.nc.jetstreamManager();
    const resultCounts = async () => {
      const info = await jsm.streams.info(Streams.results.name, { subjects_filter: 'keelson.results.dev.assistant.>' });
      return info.state.subjects ?? {};
    };
    const wanted = new Set(ids.map((id) => `keelson.results.dev.assistant.${id}`));
    const countOurs = (counts: Record<string, number>) => Object.keys(counts).filter((s) => wanted.has(s)).length;
    const counts = await waitFor(
      async () => {
        const c = await resultCounts();
        return countOurs(c) === TASKS ? c : undefined;
      },
      { description: `results for all ${TASKS} tasks after the kill`, timeoutMs: 180_000, intervalMs: 500 },
    );
    const doubled = [...wanted].filter((subject) => counts[subject] !== 1);
    assert.deepEqual(doubled, [], 'every task must have exactly one result');
    const views = await pool(ids, 25, async (id) => (await api.get(`/v1/tasks/${id}`)).body);
    assert.ok(views.every((v) => v.status === 'succeeded'), 'every task ends succeeded');
    assert.ok(
      views.some((v) => v.attempts >= 2),
      'some tasks were in flight on the killed worker and ran again elsewhere',
    );
  });

  it('finishes a session turn whose replica was killed -9 mid-turn, on a new replica', async () => {
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'assistant' })).body;
    const first = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'remember the lighthouse' });
    assert.equal(first.status, 200);
    const slow = api.post(`/v1/sessions/${sessionId}/messages`, { content: '__slow:3000__' });
    const owner = mesh.apps.get('session-agent-1')!;
    await waitFor(
      async () => {
        // The turn is under way once the run log holds its start event.
        const info = await (await mesh.nc.jetstreamManager()).streams.info(Streams.runs.name, {
          subjects_filter: `keelson.runs.dev.sessions.${sessionId}.2`,
        });
        return (info.state.subjects?.[`keelson.runs.dev.sessions.${sessionId}.2`] ?? 0) > 0 || undefined;
      },
      { description: 'turn 2 to start on the first replica', timeoutMs: 20_000 },
    );
    await owner.kill('SIGKILL');
    await mesh.startReplica('session-agent');
    const reply = await slow;
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(reply.body.turn, 2);
    const third = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'what did I ask first?' });
    assert.equal(third.status, 200);
    assert.match(third.body.output, /remember the lighthouse/);
    const view = (await api.get(`/v1/sessions/${sessionId}`)).body;
    assert.equal(view.turns, 3);
    assert.deepEqual(
      view.messages.filter((m: any) => m.role === 'user').map((m: any) => m.content),
      ['remember the lighthouse', '__slow:3000__', 'what did I ask first?'],
    );
  });
});
