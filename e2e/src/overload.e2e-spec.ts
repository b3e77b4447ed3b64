import { strict as assert } from 'node:assert';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle, type RecordedRequest } from '@keelson/testing';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

/** Every service process is still there (none ran out of memory or crashed under the burst). */
function assertAllRunning(mesh: Mesh): void {
  for (const [name, app] of mesh.apps) {
    assert.doesNotThrow(() => process.kill(app.pid, 0), `${name} (pid ${app.pid}) is no longer running`);
  }
}

/** The last user message of a chat completion request. */
const lastUser = (r: RecordedRequest) =>
  String((r.body as { messages: { role: string; content: unknown }[] }).messages.filter((m) => m.role === 'user').at(-1)?.content ?? '');

/**
 * A model server that answers at once, except prompts containing "slow", which it holds for a second, and
 * the mesh environment of an agent `slow` on it (its key in a file, as secrets are read).
 */
async function slowModelAgent(prefix: string): Promise<{ fake: FakeOpenAIHandle; env: Record<string, string> }> {
  const fake = await startFakeOpenAI((request) => ({ text: ['fine'], ...(lastUser(request).includes('slow') ? { headersDelayMs: 1_000 } : {}) }));
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const agents = join(dir, 'agents');
  mkdirSync(agents);
  writeFileSync(
    join(agents, 'slow.json'),
    JSON.stringify({
      id: 'slow',
      version: '1',
      description: 'a model that is fast or slow by prompt',
      model: { provider: 'openai', name: 'm' },
      systemPrompt: 'Answer.',
      limits: { maxOutputTokens: 64, maxSteps: 1, timeoutMs: 30_000 },
    }),
  );
  writeFileSync(join(dir, 'openai-key'), 'sk-overload-e2e\n');
  return { fake, env: { AGENTS_DIR: agents, OPENAI_BASE_URL: fake.baseUrl, OPENAI_API_KEY_FILE: join(dir, 'openai-key') } };
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

/**
 * Issue 11, resilience item 1: a slow model is not an overloaded gateway. The model answers at once, except
 * prompts containing "slow", which it holds for a second (50-100 x the fast ones): an invoke lane whose limit
 * followed end-to-end latency shrank on such traffic while the gateway idled, and then refused users far
 * below its ceiling. With the defaults (ADMISSION_ADAPTIVE on, ADMISSION_ADAPTIVE_LANES=task) it must not.
 */
describe('overload: a slow model does not shrink the invoke lane', () => {
  const CEILING = 64;
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    const slow = await slowModelAgent('keelson-slow-model-');
    fake = slow.fake;
    mesh = await startMesh({
      // Only the ceiling is set: adaptivity is left at its defaults, which this test is about.
      env: { ...slow.env, ADMISSION_INVOKE_MAX_IN_FLIGHT: String(CEILING) },
    });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  const invoke = (input: string) => api.post('/v1/agents/slow/invoke', { input });

  it('after rounds of fast and slow invokes, 60 slow ones at once (below the ceiling of 64) are all admitted', { timeout: 180_000 }, async () => {
    // Fast ones first: the latency a latency-following limit would take as its baseline.
    for (let i = 0; i < 8; i++) {
      const answers = await Promise.all(Array.from({ length: 8 }, (_, j) => invoke(`fast ${i}.${j}`)));
      assert.deepEqual(answers.map((res) => res.status), Array(8).fill(200), JSON.stringify(answers.find((res) => res.status !== 200)?.body));
    }
    // Then the model turns slow on every other prompt, at low concurrency: 8 rounds of 16 at once.
    for (let i = 0; i < 8; i++) {
      const answers = await Promise.all(Array.from({ length: 16 }, (_, j) => invoke(`${j % 2 === 0 ? 'slow' : 'fast'} ${i}.${j}`)));
      assert.deepEqual(answers.map((res) => res.status), Array(16).fill(200), `round ${i}: ${JSON.stringify(answers.find((res) => res.status !== 200)?.body)}`);
    }
    const burst = await Promise.all(Array.from({ length: 60 }, (_, j) => invoke(`slow burst ${j}`)));
    const refused = burst.filter((res) => res.status !== 200);
    assert.equal(refused.length, 0, `refused ${refused.length} of 60 below the ceiling: ${JSON.stringify(refused[0]?.body)}`);
    assert.ok(fake.requests.filter((r) => lastUser(r).includes('slow')).length >= 60 + 64);
  });
});

/**
 * Issue 11, resilience item 1, where the queue really is: the session-agent's invoke responder runs 2 at a
 * time with room for 2 waiting (INVOKE_*), behind a gateway that admits far more. Each model call takes a
 * second, so the waiters pass their 100 ms budget: the excess must come back 503 overloaded with Retry-After
 * from the responder (not a 504 after the gateway's timeout), on the plain invoke and on both kinds of chat
 * completion, and once the burst is over every request is served again.
 */
describe('overload: the session-agent refuses what would wait too long for one of its slots', () => {
  let fake: FakeOpenAIHandle;
  let mesh: Mesh;
  let api: ReturnType<typeof client>;

  before(async () => {
    const slow = await slowModelAgent('keelson-responder-bound-');
    fake = slow.fake;
    mesh = await startMesh({
      env: {
        ...slow.env,
        INVOKE_CONCURRENCY: '2',
        INVOKE_MAX_QUEUE: '2',
      },
    });
    api = client(mesh.base);
  });
  after(async () => {
    await mesh?.stop();
    await fake?.stop();
  });

  /** Status, error code and Retry-After of an answer, whatever its body (a stream that started is a 200). */
  const answer = async (res: Response) => {
    const text = await res.text();
    const code = res.status === 200 ? undefined : (JSON.parse(text) as { error?: { code?: string } }).error?.code;
    return { status: res.status, code, retryAfter: res.headers.get('retry-after') };
  };
  const routes = {
    invoke: (i: number) => api.request('/v1/agents/slow/invoke', { method: 'POST', body: JSON.stringify({ input: `slow ${i}` }) }),
    completion: (i: number) =>
      api.request('/v1/chat/completions', { method: 'POST', body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: `slow ${i}` }] }) }),
    streamedCompletion: (i: number) =>
      api.request('/v1/chat/completions', {
        method: 'POST',
        body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: `slow ${i}` }] }),
      }),
  };

  for (const [route, send] of Object.entries(routes)) {
    it(`${route}: a burst of 20 gets the excess 503 overloaded with Retry-After, the admitted ones answer, and all are served after`, { timeout: 120_000 }, async () => {
      const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => answer(await send(i))));
      const refused = answers.filter((a) => a.status !== 200);
      assert.ok(refused.length > 0, 'with 2 running and 2 waiting, some of 20 at once are refused');
      assert.ok(answers.some((a) => a.status === 200), 'the ones that got a slot answer');
      for (const a of refused) {
        assert.deepEqual([a.status, a.code], [503, 'overloaded'], `a refusal is 503 overloaded, got ${JSON.stringify(a)}`);
        assert.match(a.retryAfter ?? '', /^\d+$/, 'Retry-After in whole seconds');
      }
      assertAllRunning(mesh);
      // The burst is over: one at a time, every request gets a slot again.
      for (let i = 0; i < 3; i++) assert.equal((await answer(await send(100 + i))).status, 200);
    });
  }
});
