import { strict as assert } from 'node:assert';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  freePort,
  startApp,
  startNats,
  startRedis,
  type AppHandle,
  type NatsServerHandle,
  type RedisServerHandle,
} from '@keelson/testing';
import OpenAI, { AuthenticationError, BadRequestError, NotFoundError } from 'openai';
import { hashApiKey } from '../auth/api-keys';

const KEY = 'ks_test_openai_key';

/** The official OpenAI SDK, unmodified, against a gateway and a session-agent as separate processes. */
describe('OpenAI-compatible API, driven by the openai SDK', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let gateway: AppHandle;
  let agent: AppHandle;
  let base: string;
  let client: OpenAI;

  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    const keysFile = join(mkdtempSync(join(tmpdir(), 'gw-openai-')), 'api-keys.json');
    writeFileSync(keysFile, JSON.stringify({ keys: [{ id: 't', tenant: 'dev', sha256: hashApiKey(KEY), scopes: ['*'] }] }));
    const common = { NATS_URL: nats.url, REDIS_URL: redis.url, KEELSON_API_KEYS_FILE: keysFile, LOG_LEVEL: 'warn' };
    const [gatewayPort, agentPort] = await Promise.all([freePort(), freePort()]);
    base = `http://127.0.0.1:${gatewayPort}`;
    [gateway, agent] = await Promise.all([
      startApp({ name: 'gateway', env: { ...common, PORT: String(gatewayPort) }, readyUrl: `${base}/readyz`, readyTimeoutMs: 60_000 }),
      startApp({
        name: 'session-agent',
        env: { ...common, HEALTH_PORT: String(agentPort) },
        readyUrl: `http://127.0.0.1:${agentPort}/readyz`,
        readyTimeoutMs: 60_000,
      }),
    ]);
    client = new OpenAI({ baseURL: `${base}/v1`, apiKey: KEY, maxRetries: 0 });
  });

  after(async () => {
    await Promise.all([gateway?.stop(), agent?.stop()]);
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
    { role: 'system', content: 'You are terse.' },
    { role: 'user', content: `tell me a story about the sea ${'and its waves '.repeat(20)}` },
    { role: 'assistant', content: 'Once upon a time.' },
    { role: 'user', content: `go on about the sea ${'and its storms '.repeat(20)}` },
  ];

  it('lists the agents as models', async () => {
    const models = [];
    for await (const model of client.models.list()) models.push(model);
    const assistant = models.find((m) => m.id === 'assistant');
    assert.ok(assistant, JSON.stringify(models));
    assert.equal(assistant.object, 'model');
    assert.equal(assistant.owned_by, 'keelson');
    assert.equal(typeof assistant.created, 'number');
    assert.equal((await client.models.retrieve('assistant')).id, 'assistant');
  });

  it('answers a plain completion with the agent output and usage', async () => {
    const completion = await client.chat.completions.create({ model: 'assistant', messages, temperature: 0.2, user: 'u1' });
    assert.match(completion.id, /^chatcmpl-/);
    assert.equal(completion.object, 'chat.completion');
    assert.equal(completion.model, 'assistant');
    const [choice] = completion.choices;
    assert.equal(choice?.message.role, 'assistant');
    assert.match(choice?.message.content ?? '', /This is turn 2 .*go on about the sea.*Earlier you said: "tell me a story about the sea/);
    assert.equal(choice?.finish_reason, 'stop');
    assert.ok(completion.usage && completion.usage.prompt_tokens > 0 && completion.usage.completion_tokens > 0);
    assert.equal(completion.usage.total_tokens, completion.usage.prompt_tokens + completion.usage.completion_tokens);
  });

  it('streams the same output as content deltas, then finish_reason stop and a usage chunk', async () => {
    const plain = await client.chat.completions.create({ model: 'assistant', messages });
    const stream = await client.chat.completions.create({
      model: 'assistant',
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    let content = '';
    let contentChunks = 0;
    let role: string | undefined;
    let finish: string | null | undefined;
    let usage: OpenAI.CompletionUsage | null | undefined;
    const ids = new Set<string>();
    for await (const chunk of stream) {
      ids.add(chunk.id);
      assert.equal(chunk.object, 'chat.completion.chunk');
      if (chunk.usage) usage = chunk.usage;
      const choice = chunk.choices[0];
      if (!choice) continue;
      role ??= choice.delta.role;
      if (choice.delta.content) {
        content += choice.delta.content;
        contentChunks++;
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
    assert.equal(ids.size, 1);
    assert.equal(role, 'assistant');
    assert.ok(contentChunks > 1, `expected several deltas, got ${contentChunks}`);
    assert.equal(content, plain.choices[0]?.message.content);
    assert.equal(finish, 'stop');
    assert.deepEqual(usage, plain.usage);
  });

  it('streams with the SDK helper too (content parts, max_completion_tokens honoured)', async () => {
    const stream = client.chat.completions.stream({
      model: 'assistant',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'count ' }, { type: 'text', text: 'the waves '.repeat(50) }] }],
      max_completion_tokens: 5,
    });
    const final = await stream.finalChatCompletion();
    assert.equal(final.choices[0]?.finish_reason, 'length');
    assert.ok((final.choices[0]?.message.content ?? '').length > 0);
  });

  it('answers an unknown model with NotFoundError (404, model_not_found)', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'nobody', messages }), (err: unknown) => {
      assert.ok(err instanceof NotFoundError, String(err));
      assert.equal(err.status, 404);
      assert.equal(err.code, 'model_not_found');
      assert.equal(err.param, 'model');
      return true;
    });
    await assert.rejects(client.chat.completions.create({ model: 'nobody', messages, stream: true }), NotFoundError);
    await assert.rejects(client.models.retrieve('nobody'), NotFoundError);
  });

  it('answers a bad key with AuthenticationError (401)', async () => {
    const bad = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong-key', maxRetries: 0 });
    await assert.rejects(bad.chat.completions.create({ model: 'assistant', messages }), (err: unknown) => {
      assert.ok(err instanceof AuthenticationError, String(err));
      assert.equal(err.status, 401);
      assert.equal(err.type, 'invalid_request_error');
      assert.equal(err.code, 'invalid_api_key');
      return true;
    });
    await assert.rejects(bad.models.list(), AuthenticationError);
  });

  it('answers an invalid request with BadRequestError (400) naming the param', async () => {
    await assert.rejects(client.chat.completions.create({ model: 'assistant', messages: [] }), (err: unknown) => {
      assert.ok(err instanceof BadRequestError, String(err));
      assert.equal(err.param, 'messages');
      return true;
    });
  });

  it('answers malformed JSON with 400 in OpenAI shape', async () => {
    const res = await fetch(`${base}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{"model": ',
    });
    assert.equal(res.status, 400);
    const body = (await res.json()) as { error: { type: string; code: string } };
    assert.equal(body.error.type, 'invalid_request_error');
    assert.equal(body.error.code, 'invalid_json');
  });

  it('keeps Keelson error shape on the rest of the API', async () => {
    const res = await fetch(`${base}/v1/agents/nobody/invoke`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: '{"input":"hi"}',
    });
    assert.equal(res.status, 404);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'agent_not_found');
  });
});
