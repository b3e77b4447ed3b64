import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { errorEvent, messageEvents, startFakeAnthropic, type FakeAnthropicHandle } from '@keelson/testing';
import { AnthropicProviderError, type AnthropicErrorCode } from './anthropic-error';
import { TEST_KEY, collect, collectUntilError, providerFor } from './anthropic-test-helpers';

function assertProviderError(error: unknown, code: AnthropicErrorCode): AnthropicProviderError {
  assert.ok(error instanceof AnthropicProviderError, `expected AnthropicProviderError, got ${String(error)}`);
  assert.equal(error.code, code, error.message);
  return error;
}

const threeWords = { stream: { blocks: [{ text: ['one ', 'two ', 'three'] }] } };

describe('AnthropicProvider failures', () => {
  const fakes: FakeAnthropicHandle[] = [];
  after(() => Promise.all(fakes.map((f) => f.close())));
  const fake = async (...args: Parameters<typeof startFakeAnthropic>) => {
    const f = await startFakeAnthropic(...args);
    fakes.push(f);
    return f;
  };

  it('retries 429 and 529 honouring retry-after, then streams the answer', async () => {
    const server = await fake([
      { status: 429, message: 'Number of request tokens has exceeded your per-minute rate limit', retryAfter: '0.05' },
      { status: 529, message: 'Overloaded', retryAfter: '0.02' },
      threeWords,
    ]);
    const retries: { delayMs: number; code: string; status?: number }[] = [];
    const provider = providerFor(server.baseUrl, {
      onRetry: ({ delayMs, error }) => retries.push({ delayMs, code: error.code, status: error.status }),
    });
    const chunks = await collect(provider);
    assert.equal(server.requests.length, 3);
    assert.deepEqual(retries, [
      { delayMs: 50, code: 'rate_limited', status: 429 },
      { delayMs: 20, code: 'overloaded', status: 529 },
    ]);
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  });

  it('gives up after maxRetries with the last error', async () => {
    const server = await fake([{ status: 500, message: 'Internal server error' }]);
    const { error } = await collectUntilError(providerFor(server.baseUrl, { maxRetries: 1 }));
    assert.equal(assertProviderError(error, 'upstream_error').status, 500);
    assert.equal(server.requests.length, 2);
  });

  it('does not retry a 400 and reports the upstream message', async () => {
    const server = await fake([{ status: 400, message: 'messages: roles must alternate between "user" and "assistant"' }]);
    const { error } = await collectUntilError(providerFor(server.baseUrl));
    const err = assertProviderError(error, 'bad_request');
    assert.equal(err.status, 400);
    assert.equal(err.details.upstreamType, 'invalid_request_error');
    assert.match(err.message, /roles must alternate/);
    assert.equal(server.requests.length, 1);
  });

  it('turns an error event mid-stream into an error after the text so far, without retrying', async () => {
    const events = messageEvents({ blocks: [{ text: ['partial ', 'answer'] }] });
    const server = await fake([{ stream: [...events.slice(0, 4), errorEvent('overloaded_error', 'Overloaded')] }]);
    const { chunks, error } = await collectUntilError(providerFor(server.baseUrl));
    assertProviderError(error, 'overloaded');
    assert.deepEqual(chunks, [{ type: 'text', text: 'partial ' }]);
    assert.equal(server.requests.length, 1);
  });

  it('throws stream_cut, with no finish, when the connection is cut mid-stream', async () => {
    const server = await fake([{ ...threeWords, cutAfterEvents: 5 }]);
    const { chunks, error } = await collectUntilError(providerFor(server.baseUrl));
    assertProviderError(error, 'stream_cut');
    assert.deepEqual(chunks, [{ type: 'text', text: 'one ' }, { type: 'text', text: 'two ' }]);
    assert.equal(server.requests.length, 1, 'no retry once output started');
  });

  it('throws stream_cut when a stream ends cleanly but without message_stop', async () => {
    const events = messageEvents({ blocks: [{ text: ['almost'] }] });
    const server = await fake([{ stream: events.slice(0, -1) }]);
    const { chunks, error } = await collectUntilError(providerFor(server.baseUrl, { maxRetries: 0 }));
    assertProviderError(error, 'stream_cut');
    assert.ok(!chunks.some((c) => c.type === 'finish'));
  });

  it('retries a cut that came before any output', async () => {
    const server = await fake([{ ...threeWords, cutAfterEvents: 1 }, threeWords]);
    const chunks = await collect(providerFor(server.baseUrl));
    assert.equal(server.requests.length, 2);
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'stop' });
  });

  it('ends with finish cancelled on abort and closes the upstream connection', async () => {
    const server = await fake([{ ...threeWords, holdOpenAfterEvents: 4 }]);
    const abort = new AbortController();
    const chunks = [];
    for await (const chunk of providerFor(server.baseUrl).stream({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, abort.signal)) {
      chunks.push(chunk);
      if (chunk.type === 'text') abort.abort();
    }
    assert.deepEqual(chunks[0], { type: 'text', text: 'one ' });
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'cancelled' });
    assert.equal(await server.requests[0]!.closed, 'client_closed');
  });

  it('times out a silent stream with idleTimeoutMs', async () => {
    const server = await fake([{ ...threeWords, holdOpenAfterEvents: 4 }]);
    const { error } = await collectUntilError(providerFor(server.baseUrl, { idleTimeoutMs: 50 }));
    assertProviderError(error, 'timeout');
    assert.equal(await server.requests[0]!.closed, 'client_closed');
  });

  it('never puts the key in an error, even when the upstream message echoes it', async () => {
    const server = await fake([{ status: 401, message: `invalid x-api-key: ${TEST_KEY}` }]);
    const { error } = await collectUntilError(providerFor(server.baseUrl));
    const err = assertProviderError(error, 'unauthorized');
    assert.match(err.message, /invalid x-api-key: \[redacted\]/);
    for (const text of [err.message, String(err.stack), JSON.stringify(err), String(err.cause)]) assert.ok(!text.includes(TEST_KEY));
  });

  it('reports a network failure without the key, as upstream_error', async () => {
    const server = await fake([threeWords]);
    await server.close();
    const { error } = await collectUntilError(providerFor(server.baseUrl, { maxRetries: 1 }));
    const err = assertProviderError(error, 'upstream_error');
    assert.ok(!err.message.includes(TEST_KEY));
  });
});
