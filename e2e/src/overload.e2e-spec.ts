import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

/** Every service process is still there (none ran out of memory or crashed under the burst). */
function assertAllRunning(mesh: Mesh): void {
  for (const [name, app] of mesh.apps) {
    assert.doesNotThrow(() => process.kill(app.pid, 0), `${name} (pid ${app.pid}) is no longer running`);
  }
}

/** Far more at once than the gateway admits (4 working, 2 waiting per class): most are refused. */
const BURST = 80;

describe('overload: admission control sheds the excess and serves what it admits', () => {
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    mesh = await startMesh({
      env: {
        ADMISSION_INVOKE_MAX_IN_FLIGHT: '4',
        ADMISSION_TASK_MAX_IN_FLIGHT: '4',
        ADMISSION_MAX_QUEUE: '2',
        // A fixed limit: the test is about what is refused and what is served, not where an adaptive limit goes.
        ADMISSION_ADAPTIVE: 'false',
      },
    });
    api = client(mesh.base);
  });
  after(async () => mesh?.stop());

  /** Every refusal is 503 overloaded (or a tenant's own 429) with a Retry-After in whole seconds. */
  function assertRefusals(answers: { status: number; headers: Headers; body: any }[], okStatus: number): number {
    let refused = 0;
    for (const res of answers) {
      if (res.status === okStatus) continue;
      refused++;
      assert.ok([503, 429].includes(res.status), `expected ${okStatus}, 503 or 429, got ${res.status}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body?.error?.code, res.status === 503 ? 'overloaded' : 'rate_limited');
      assert.match(res.headers.get('retry-after') ?? '', /^\d+$/, 'Retry-After in whole seconds');
    }
    return refused;
  }

  it('refuses invokes past the limit with 503 overloaded and Retry-After; every admitted invoke answers in full', { timeout: 120_000 }, async () => {
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => api.post('/v1/agents/assistant/invoke', { input: `burst ${i}` })));
    const refused = assertRefusals(answers, 200);
    assert.ok(refused > 0, `expected some of ${BURST} simultaneous invokes to be refused with a limit of 4 + 2 waiting`);
    for (const [i, res] of answers.entries()) {
      if (res.status === 200) assert.match(JSON.stringify(res.body), new RegExp(`burst ${i}\\b`), 'the admitted invoke answers its own input');
    }
    assertAllRunning(mesh);
    // After the burst every request is admitted again.
    for (let i = 0; i < 10; i++) assert.equal((await api.post('/v1/agents/assistant/invoke', { input: `after ${i}` })).status, 200);
  });

  it('refuses task submits past the limit before accepting them; every accepted task gets its result', { timeout: 120_000 }, async () => {
    const answers = await Promise.all(Array.from({ length: BURST }, (_, i) => api.post('/v1/tasks', { agentId: 'assistant', input: `task ${i}` })));
    const refused = assertRefusals(answers, 202);
    assert.ok(refused > 0, `expected some of ${BURST} simultaneous submits to be refused`);
    const accepted = answers.filter((res) => res.status === 202).map((res) => res.body.taskId as string);
    assert.ok(accepted.length > 0);
    for (const taskId of accepted) {
      await waitFor(
        async () => {
          const view = await api.get(`/v1/tasks/${taskId}`);
          return view.status === 200 && view.body.status === 'succeeded' ? true : undefined;
        },
        { description: `accepted task ${taskId} to succeed`, timeoutMs: 60_000, intervalMs: 100 },
      );
    }
    assertAllRunning(mesh);
    for (let i = 0; i < 5; i++) assert.equal((await api.post('/v1/tasks', { agentId: 'assistant', input: `later ${i}` })).status, 202);
  });
});
