import { strict as assert } from 'node:assert';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, describe, it } from 'node:test';
import { startFakeOpenAI, waitFor, type FakeOpenAIHandle, type FakeOpenAIScript } from '@keelson/testing';
import type { ModelChunk, ModelRequest } from '../../model/provider';
import { collectChunks } from './collect-chunks';
import { OpenAICompatibleProvider, type OpenAICompatibleOptions } from './openai-compatible-provider';
import { ProviderError, type ProviderErrorCode } from './provider-error';

const KEY = 'sk-secret-failures-9876543210';
const servers: FakeOpenAIHandle[] = [];
after(() => Promise.all(servers.map((s) => s.stop())));

async function setup(script: FakeOpenAIScript, options: Partial<OpenAICompatibleOptions> = {}) {
  const fake = await startFakeOpenAI(script);
  servers.push(fake);
  const retries: number[] = [];
  const provider = new OpenAICompatibleProvider({
    baseUrl: fake.baseUrl,
    apiKey: () => KEY,
    retryBaseMs: 1,
    onRetry: ({ delayMs }) => retries.push(delayMs),
    ...options,
  });
  return { fake, provider, retries };
}

const req: ModelRequest = { model: 'gpt-test', messages: [{ role: 'user', content: 'Hello' }] };

async function providerError(promise: Promise<unknown>, code: ProviderErrorCode): Promise<ProviderError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof ProviderError, `expected ProviderError, got ${String(err)}`);
    assert.equal(err.code, code, err.message);
    assert.ok(!err.message.includes(KEY), `the key leaked into: ${err.message}`);
    return err;
  }
  assert.fail(`expected ProviderError ${code}`);
}

describe('OpenAICompatibleProvider failures', () => {
  it('retries a 429 once, waiting its Retry-After, then streams', async () => {
    const { fake, provider, retries } = await setup([{ status: 429, retryAfter: 1 }, { text: 'after the wait' }]);
    const chunks = await collectChunks(provider, req);
    assert.equal(fake.requests.length, 2);
    assert.deepEqual(retries, [1000]);
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  });

  it('gives up on 500 after maxRetries, with the upstream message and status', async () => {
    const { fake, provider, retries } = await setup([{ status: 500 }], { maxRetries: 2 });
    const err = await providerError(collectChunks(provider, req), 'upstream_error');
    assert.equal(fake.requests.length, 3);
    assert.equal(retries.length, 2);
    assert.equal(err.status, 500);
    assert.match(err.message, /The server had an error/);
  });

  it('does not retry a 400 and reports the body message', async () => {
    const { fake, provider } = await setup([{ status: 400, message: "Invalid value for 'max_tokens'", code: 'invalid_value' }]);
    const err = await providerError(collectChunks(provider, req), 'bad_request');
    assert.equal(fake.requests.length, 1);
    assert.match(err.message, /Invalid value for 'max_tokens'/);
  });

  it('scrubs the key from an upstream message that echoes it (401)', async () => {
    const { provider } = await setup([{ status: 401, message: `Incorrect API key provided: ${KEY}.` }]);
    const err = await providerError(collectChunks(provider, req), 'unauthorized');
    assert.match(err.message, /Incorrect API key provided: \[redacted\]/);
  });

  it('fails a stream cut midway with stream_cut and no finish chunk, without retrying after output', async () => {
    const { fake, provider } = await setup([{ text: ['one ', 'two ', 'three'], cutAfterChunks: 3 }]);
    const seen: ModelChunk[] = [];
    const consume = async () => {
      for await (const chunk of provider.stream(req)) seen.push(chunk);
    };
    await providerError(consume(), 'stream_cut');
    assert.deepEqual(seen, [{ type: 'text', text: 'one ' }, { type: 'text', text: 'two ' }]);
    assert.equal(fake.requests.length, 1);
  });

  it('fails a stream that ends cleanly but without finish_reason and [DONE]', async () => {
    const { provider } = await setup([{ text: 'half an answer', endWithoutDone: true }], { maxRetries: 0 });
    const seen: ModelChunk[] = [];
    const consume = async () => {
      for await (const chunk of provider.stream(req)) seen.push(chunk);
    };
    await providerError(consume(), 'stream_cut');
    assert.ok(!seen.some((c) => c.type === 'finish'));
  });

  it('ends with finish cancelled on abort and closes the upstream connection', async () => {
    const { fake, provider } = await setup([{ text: ['a ', 'b ', 'c ', 'd'], chunkDelayMs: 200 }]);
    const abort = new AbortController();
    const seen: ModelChunk[] = [];
    for await (const chunk of provider.stream(req, abort.signal)) {
      seen.push(chunk);
      if (chunk.type === 'text') abort.abort();
    }
    assert.deepEqual(seen, [{ type: 'text', text: 'a ' }, { type: 'finish', reason: 'cancelled' }]);
    await waitFor(() => fake.requests[0]!.clientClosedEarly, { description: 'the fake to see the connection closed' });
  });

  it('times out a stream that goes silent', async () => {
    const { fake, provider } = await setup([{ text: ['a ', 'b'], chunkDelayMs: 5_000 }], { idleTimeoutMs: 100, maxRetries: 0 });
    const err = await providerError(collectChunks(provider, req), 'timeout');
    assert.match(err.message, /no data for 100 ms/);
    await waitFor(() => fake.requests[0]!.clientClosedEarly, { description: 'the fake to see the connection closed' });
  });

  it('times out a server that does not answer, retrying first', async () => {
    const { fake, provider } = await setup([{ text: 'late', headersDelayMs: 5_000 }], { timeoutMs: 100, maxRetries: 1 });
    await providerError(collectChunks(provider, req), 'timeout');
    assert.equal(fake.requests.length, 2);
  });

  it('refuses a 200 that is not an event stream as bad_response', async () => {
    const server = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"choices":[]}'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    try {
      const provider = new OpenAICompatibleProvider({ baseUrl: `http://127.0.0.1:${port}/v1`, apiKey: () => KEY });
      await providerError(collectChunks(provider, req), 'bad_response');
    } finally {
      server.close();
    }
  });

  it('reports a refused connection as network_error', async () => {
    const { fake, provider } = await setup([{ text: 'unused' }], { maxRetries: 1 });
    await fake.stop();
    await providerError(collectChunks(provider, req), 'network_error');
  });
});
