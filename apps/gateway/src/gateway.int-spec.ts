import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { EventTypes, Streams, Subjects } from '@keelson/contracts';
import {
  freePort,
  startApp,
  startNats,
  startRedis,
  waitFor,
  type AppHandle,
  type NatsServerHandle,
  type RedisServerHandle,
} from '@keelson/testing';
import { JSONCodec, connect, headers, type NatsConnection } from 'nats';
import { hashApiKey } from './auth/api-keys';

const KEY = 'ks_test_gateway_key';

/** The gateway alone, over real sockets, with real NATS and Redis but no agent services behind it. */
describe('gateway over HTTP', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let gateway: AppHandle;
  let nc: NatsConnection;
  let base: string;

  const call = (path: string, init: RequestInit & { key?: string | null } = {}) => {
    const headers = new Headers(init.headers);
    if (init.key !== null) headers.set('authorization', `Bearer ${init.key ?? KEY}`);
    if (typeof init.body === 'string' && !headers.has('content-type')) headers.set('content-type', 'application/json');
    return fetch(`${base}${path}`, { ...init, headers });
  };
  const json = async (res: Response) => ({ status: res.status, body: (await res.json()) as any });
  const taskMessages = async () => (await (await nc.jetstreamManager()).streams.info(Streams.tasks.name)).state.messages;

  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const keysFile = join(mkdtempSync(join(tmpdir(), 'gw-')), 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 't', tenant: 'dev', sha256: hashApiKey(KEY), scopes: ['*'] }] }));
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    gateway = await startApp({
      name: 'gateway',
      env: {
        NATS_URL: nats.url,
        REDIS_URL: redis.url,
        PORT: String(port),
        KEELSON_API_KEYS_FILE: keysFile,
        BODY_LIMIT_BYTES: '4096',
        INVOKE_TIMEOUT_MS: '1000',
        LOG_LEVEL: 'info',
      },
      readyUrl: `${base}/readyz`,
    });
    nc = await connect({ servers: nats.url });
  });

  after(async () => {
    await nc?.close();
    await gateway?.stop();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it('reports itself alive and ready, with NATS and Redis checked', async () => {
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    const ready = await json(await fetch(`${base}/readyz`));
    assert.deepEqual(ready, { status: 200, body: { status: 'ready', checks: { nats: 'ok', redis: 'ok' } } });
  });

  it('answers 401 naming the Authorization header when the key is missing or unknown', async () => {
    for (const key of [null, 'wrong-key']) {
      const res = await json(await call('/v1/sessions', { method: 'POST', body: '{"agentId":"assistant"}', key }));
      assert.equal(res.status, 401);
      assert.equal(res.body.error.code, 'unauthorized');
      assert.equal(res.body.error.field, 'Authorization');
    }
  });

  it('answers malformed JSON with 400 invalid_json', async () => {
    const res = await json(await call('/v1/tasks', { method: 'POST', body: '{"agentId": "assistant", ' }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'invalid_json');
  });

  it('answers a wrong type with 400 naming the field', async () => {
    const res = await json(await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ agentId: 'assistant', input: 42 }) }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'validation_failed');
    assert.equal(res.body.error.field, 'input');
  });

  it('answers a missing body with 400', async () => {
    const res = await json(await call('/v1/sessions', { method: 'POST' }));
    assert.equal(res.status, 400);
    assert.equal(res.body.error.code, 'validation_failed');
  });

  it('answers an oversized body with 413 and queues nothing', async () => {
    const before = await taskMessages();
    const res = await json(
      await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ agentId: 'assistant', input: 'x'.repeat(8_000) }) }),
    );
    assert.equal(res.status, 413);
    assert.equal(res.body.error.code, 'payload_too_large');
    assert.equal(await taskMessages(), before);
  });

  it('answers a body that is not JSON with 415', async () => {
    const res = await json(await call('/v1/tasks', { method: 'POST', body: 'hello', headers: { 'content-type': 'text/plain' } }));
    assert.equal(res.status, 415);
    assert.equal(res.body.error.code, 'unsupported_media_type');
  });

  it('answers an unknown agent with 404 agent_not_found and queues no task', async () => {
    const before = await taskMessages();
    const task = await json(await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ agentId: 'nobody', input: 'x' }) }));
    assert.equal(task.status, 404);
    assert.equal(task.body.error.code, 'agent_not_found');
    assert.equal(task.body.error.field, 'agentId');
    assert.equal(await taskMessages(), before);
    const invoke = await json(await call('/v1/agents/nobody/invoke', { method: 'POST', body: '{"input":"hi"}' }));
    assert.equal(invoke.status, 404);
    const session = await json(await call('/v1/sessions', { method: 'POST', body: '{"agentId":"nobody"}' }));
    assert.equal(session.status, 404);
  });

  it('answers unknown sessions and tasks with 404 and the id field', async () => {
    const cases: [string, string, string][] = [
      ['GET', '/v1/sessions/ses_missing', 'session_not_found'],
      ['DELETE', '/v1/sessions/ses_missing', 'session_not_found'],
      ['POST', '/v1/sessions/ses_missing/messages', 'session_not_found'],
      ['GET', '/v1/sessions/not.a.valid.id', 'session_not_found'],
      ['GET', '/v1/sessions/ses_missing/events', 'session_not_found'],
      ['GET', '/v1/tasks/tsk_missing', 'task_not_found'],
      ['GET', '/v1/tasks/tsk_missing/events', 'task_not_found'],
    ];
    for (const [method, path, code] of cases) {
      const body = method === 'POST' ? '{"content":"hi"}' : undefined;
      const res = await json(await call(path, { method, ...(body ? { body } : {}) }));
      assert.equal(res.status, 404, `${method} ${path}`);
      assert.equal(res.body.error.code, code, `${method} ${path}`);
    }
  });

  it('logs a failed request as one JSON line with the route template, status and tenant, never the raw id', async () => {
    await call('/v1/tasks/tsk_logcheck123');
    const line = await gateway.waitForLog(/"message":"http request".*tsk_logcheck123|"route":"\/v1\/tasks\/:taskId"/);
    const entry = JSON.parse(line);
    assert.equal(entry.route, '/v1/tasks/:taskId');
    assert.equal(entry.status, 404);
    assert.equal(entry.tenant, 'dev');
    assert.equal(entry.service, 'gateway');
    assert.ok(!line.includes('tsk_logcheck123'), 'the raw URL with its id stays out of the log');
  });

  it('serves /metrics without a key: request latency by route template and execution model, errors by code', async () => {
    await call('/v1/tasks/tsk_metrics123');
    await call('/v1/sessions/ses_metrics123');
    const res = await fetch(`${base}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    // A sample's value by name and labels, whatever order prom-client writes the labels in.
    const sample = (name: string, labels: Record<string, string>) =>
      text
        .split('\n')
        .filter((line) => line.startsWith(`${name}{`))
        .find((line) => Object.entries({ ...labels, service: 'gateway' }).every(([k, v]) => line.includes(`${k}="${v}"`)))
        ?.split(' ')
        .at(-1);
    const count = (route: string, model: string) =>
      Number(sample('keelson_http_request_duration_seconds_count', { method: 'GET', route, status_class: '4xx', execution_model: model }));
    assert.ok(count('/v1/tasks/:taskId', 'task') >= 1, text);
    assert.ok(count('/v1/sessions/:sessionId', 'session') >= 1, text);
    assert.ok(Number(sample('keelson_http_errors_total', { route: '/v1/tasks/:taskId', status: '404', code: 'task_not_found' })) >= 1, text);
    assert.match(text, /^keelson_process_cpu_user_seconds_total\{service="gateway"\} /m);
    assert.ok(!text.includes('tsk_metrics123') && !text.includes('ses_metrics123'), 'no raw URL or id in a label');
  });

  it('answers an unknown route with 404 not_found', async () => {
    const res = await json(await call('/v1/nothing-here'));
    assert.equal(res.status, 404);
    assert.equal(res.body.error.code, 'not_found');
  });

  it('replays a session\'s run log as SSE after Last-Event-ID, follows it live, and checks the resume point', async () => {
    const sessionId = (await json(await call('/v1/sessions', { method: 'POST', body: '{"agentId":"assistant"}' }))).body.sessionId;
    const other = (await json(await call('/v1/sessions', { method: 'POST', body: '{"agentId":"assistant"}' }))).body.sessionId;
    const js = nc.jetstream();
    const logEvent = async (session: string, turn: number, type: string, id: string) =>
      (await js.publish(Subjects.sessionRun('dev', session, turn), JSONCodec().encode({ specversion: '1.0', id, type, source: '/t', data: {} }))).seq;
    const seqs = [
      await logEvent(sessionId, 1, EventTypes.runStarted, 'a'),
      await logEvent(sessionId, 1, EventTypes.runDelta, 'b'),
      await logEvent(sessionId, 1, EventTypes.runCompleted, 'c'),
    ];
    const foreign = await logEvent(other, 1, EventTypes.runStarted, 'x');

    const abort = new AbortController();
    const res = await call(`/v1/sessions/${sessionId}/events`, { headers: { 'last-event-id': String(seqs[0]) }, signal: abort.signal });
    assert.equal(res.status, 200);
    const live = logEvent(sessionId, 2, EventTypes.runStarted, 'd');
    let text = '';
    const decoder = new TextDecoder();
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      text += decoder.decode(chunk, { stream: true });
      if ((text.match(/\n\n/g) ?? []).length >= 3) break;
    }
    abort.abort();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, [seqs[1], seqs[2], await live]);
    assert.deepEqual([...text.matchAll(/^event: (.+)$/gm)].map((m) => m[1]), ['run.delta', 'run.completed', 'run.started']);

    const refuse = async (value: string) => json(await call(`/v1/sessions/${sessionId}/events`, { headers: { 'last-event-id': value } }));
    for (const bad of ['abc', String(foreign), '999999999']) {
      const refused = await refuse(bad);
      assert.equal(refused.status, 400, bad);
      assert.equal(refused.body.error.field, 'Last-Event-ID');
    }
  });

  it('creates, reads and deletes a session', async () => {
    const created = await json(await call('/v1/sessions', { method: 'POST', body: '{"agentId":"assistant"}' }));
    assert.equal(created.status, 201);
    assert.match(created.body.sessionId, /^ses_/);
    assert.ok(Date.parse(created.body.expiresAt) > Date.now());
    const read = await json(await call(`/v1/sessions/${created.body.sessionId}`));
    assert.equal(read.status, 200);
    assert.equal(read.body.turns, 0);
    assert.equal((await call(`/v1/sessions/${created.body.sessionId}`, { method: 'DELETE' })).status, 204);
    assert.equal((await call(`/v1/sessions/${created.body.sessionId}`)).status, 404);
  });

  it('accepts a task with 202 and a Location once JetStream holds it', async () => {
    const before = await taskMessages();
    const res = await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ agentId: 'assistant', input: 'hello' }) });
    const body = (await res.json()) as any;
    assert.equal(res.status, 202);
    assert.match(body.taskId, /^tsk_/);
    assert.equal(res.headers.get('location'), `/v1/tasks/${body.taskId}`);
    assert.equal(await taskMessages(), before + 1);
    const view = await json(await call(`/v1/tasks/${body.taskId}`));
    assert.equal(view.body.status, 'queued');
  });

  it('gives the same idempotency key one task, in the body or the Idempotency-Key header', async () => {
    const before = await taskMessages();
    const first = await json(
      await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ agentId: 'assistant', input: 'once', idempotencyKey: 'k-1' }) }),
    );
    const second = await json(
      await call('/v1/tasks', {
        method: 'POST',
        body: JSON.stringify({ agentId: 'assistant', input: 'once' }),
        headers: { 'idempotency-key': 'k-1' },
      }),
    );
    assert.equal(first.status, 202);
    assert.equal(first.body.duplicate, false);
    assert.equal(second.status, 202);
    assert.equal(second.body.taskId, first.body.taskId);
    assert.equal(second.body.duplicate, true);
    assert.equal(await taskMessages(), before + 1);
  });

  it('answers 409 when another tenant\'s message took the key\'s Nats-Msg-Id, instead of claiming a task that does not exist', async () => {
    const h = headers();
    h.set('Nats-Msg-Id', 'dev:victim-1');
    await nc.jetstream().publish('keelson.tasks.evil.assistant', JSONCodec().encode({ input: 'squat' }), { headers: h });
    const res = await json(
      await call('/v1/tasks', { method: 'POST', body: JSON.stringify({ agentId: 'assistant', input: 'mine', idempotencyKey: 'victim-1' }) }),
    );
    assert.equal(res.status, 409);
    assert.equal(res.body.error.code, 'idempotency_conflict');
    assert.equal(res.body.error.field, 'idempotencyKey');
  });

  it('refuses an Idempotency-Key header that contradicts the body', async () => {
    const res = await json(
      await call('/v1/tasks', {
        method: 'POST',
        body: JSON.stringify({ agentId: 'assistant', input: 'x', idempotencyKey: 'a' }),
        headers: { 'idempotency-key': 'b' },
      }),
    );
    assert.equal(res.status, 400);
    assert.equal(res.body.error.field, 'idempotencyKey');
  });

  it('answers a stateless invoke with 503 when no agent runtime is running', async () => {
    const res = await json(await call('/v1/agents/assistant/invoke', { method: 'POST', body: '{"input":"hi"}' }));
    assert.equal(res.status, 503);
    assert.equal(res.body.error.code, 'unavailable');
  });

  it('reports not ready while Redis is down, stays alive, and recovers', async () => {
    await redis.kill('SIGKILL');
    const down = await waitFor(
      async () => {
        const res = await json(await fetch(`${base}/readyz`));
        return res.status === 503 ? res : undefined;
      },
      { description: '/readyz to answer 503 with Redis down', timeoutMs: 15_000 },
    );
    assert.equal(down.body.checks.nats, 'ok');
    assert.notEqual(down.body.checks.redis, 'ok');
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
    await redis.restart();
    await waitFor(async () => (await fetch(`${base}/readyz`)).status === 200, {
      description: '/readyz to recover after Redis restarted',
      timeoutMs: 15_000,
    });
  });
});

describe('gateway start-up', () => {
  it('refuses to start on a bad setting, naming it, instead of running half-configured', async () => {
    await assert.rejects(
      startApp({
        name: 'gateway',
        env: { PORT: 'not-a-port', KEELSON_API_KEYS_FILE: '/nonexistent.json', NATS_URL: 'nats://127.0.0.1:1' },
        readyUrl: 'http://127.0.0.1:1/readyz',
        readyTimeoutMs: 20_000,
      }),
      /PORT/,
    );
  });
});
