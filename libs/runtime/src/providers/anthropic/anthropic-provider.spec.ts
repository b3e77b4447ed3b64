import { strict as assert } from 'node:assert';
import { after, describe, it } from 'node:test';
import { startFakeAnthropic, type FakeAnthropicHandle } from '@keelson/testing';
import { ANTHROPIC_VERSION } from './anthropic-provider';
import { TEST_KEY, collect, hello, providerFor } from './anthropic-test-helpers';

describe('AnthropicProvider streaming', () => {
  const fakes: FakeAnthropicHandle[] = [];
  after(() => Promise.all(fakes.map((f) => f.close())));
  const fake = async (...args: Parameters<typeof startFakeAnthropic>) => {
    const f = await startFakeAnthropic(...args);
    fakes.push(f);
    return f;
  };

  it('streams text deltas, then usage (input from message_start incl. cache reads, output from message_delta), then finish', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['Hel', 'lo', ' there'] }], inputTokens: 12, cacheReadInputTokens: 3, outputTokens: 7 } }]);
    const chunks = await collect(providerFor(server.baseUrl));
    assert.deepEqual(chunks, [
      { type: 'text', text: 'Hel' },
      { type: 'text', text: 'lo' },
      { type: 'text', text: ' there' },
      { type: 'usage', usage: { inputTokens: 15, outputTokens: 7, totalTokens: 22, cachedInputTokens: 3 } },
      { type: 'finish', reason: 'stop' },
    ]);
  });

  it('sends the Messages API request: headers, system separated, turns merged, tools with input_schema', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['ok'] }] } }], { apiKey: TEST_KEY });
    const parameters = { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] };
    await collect(providerFor(server.baseUrl), {
      model: 'claude-test',
      maxOutputTokens: 321,
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'system', content: 'Be kind.' },
        { role: 'user', content: 'one' },
        { role: 'user', content: 'two' },
        { role: 'assistant', content: 'three' },
        { role: 'user', content: 'four' },
      ],
      tools: [{ name: 'weather', description: 'Weather by city', parameters }],
    });
    const [req] = server.requests;
    assert.equal(req!.method, 'POST');
    assert.equal(req!.path, '/v1/messages');
    assert.equal(req!.headers['x-api-key'], TEST_KEY);
    assert.equal(req!.headers['anthropic-version'], ANTHROPIC_VERSION);
    assert.match(String(req!.headers['content-type']), /^application\/json/);
    assert.deepEqual(req!.body, {
      model: 'claude-test',
      max_tokens: 321,
      system: 'Be brief.\n\nBe kind.',
      messages: [
        { role: 'user', content: 'one\n\ntwo' },
        { role: 'assistant', content: 'three' },
        { role: 'user', content: 'four' },
      ],
      tools: [{ name: 'weather', description: 'Weather by city', input_schema: parameters }],
      stream: true,
    });
  });

  it('streams a tool_use block as tool_call chunks under its id and name, one per partial_json fragment', async () => {
    const server = await fake([
      {
        stream: {
          blocks: [{ text: ['Let me check.'] }, { toolUse: { id: 'toolu_01', name: 'weather', partialJson: ['', '{"ci', 'ty": "Pa', 'ris"}'] } }],
        },
      },
    ]);
    const chunks = await collect(providerFor(server.baseUrl));
    const calls = chunks.filter((c) => c.type === 'tool_call');
    assert.ok(calls.every((c) => c.id === 'toolu_01' && c.name === 'weather'));
    assert.deepEqual(JSON.parse(calls.map((c) => c.argumentsDelta).join('')), { city: 'Paris' });
    assert.deepEqual(chunks[0], { type: 'text', text: 'Let me check.' });
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'tool_calls' }); // stop_reason tool_use
  });

  it('sends tool turns as tool_use blocks and a user turn of tool_result blocks', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['ok'] }] } }]);
    await collect(providerFor(server.baseUrl), {
      model: 'claude-test',
      maxOutputTokens: 64,
      messages: [
        { role: 'user', content: 'Weather in Paris and Oslo?' },
        {
          role: 'assistant',
          content: 'Checking.',
          toolCalls: [
            { id: 'toolu_1', name: 'weather', arguments: '{"city":"Paris"}' },
            { id: 'toolu_2', name: 'weather', arguments: '{"city":' },
          ],
        },
        { role: 'tool', toolCallId: 'toolu_1', name: 'weather', content: 'sunny' },
        { role: 'tool', toolCallId: 'toolu_2', name: 'weather', content: 'Error: invalid JSON', isError: true },
        { role: 'assistant', content: '', toolCalls: [{ id: 'toolu_3', name: 'weather', arguments: '{"city":"Oslo"}' }] },
        { role: 'tool', toolCallId: 'toolu_3', name: 'weather', content: 'snow' },
      ],
    });
    assert.deepEqual((server.requests[0]!.body as { messages: unknown }).messages, [
      { role: 'user', content: 'Weather in Paris and Oslo?' },
      {
        role: 'assistant',
        content: [
          { type: 'text', text: 'Checking.' },
          { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } },
          { type: 'tool_use', id: 'toolu_2', name: 'weather', input: {} },
        ],
      },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny' },
          { type: 'tool_result', tool_use_id: 'toolu_2', content: 'Error: invalid JSON', is_error: true },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_3', name: 'weather', input: { city: 'Oslo' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_3', content: 'snow' }] },
    ]);
  });

  it('maps stop_reason max_tokens to finish length', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['cut'] }], stopReason: 'max_tokens' } }]);
    const chunks = await collect(providerFor(server.baseUrl));
    assert.deepEqual(chunks.at(-1), { type: 'finish', reason: 'length' });
  });

  it('reads the key from the function on each call, so a rotated key is used', async () => {
    const server = await fake([{ stream: { blocks: [{ text: ['ok'] }] } }]);
    let key = 'key-one';
    const provider = providerFor(server.baseUrl, { apiKey: async () => key });
    await collect(provider, hello);
    key = 'key-two';
    await collect(provider, hello);
    assert.deepEqual(server.requests.map((r) => r.headers['x-api-key']), ['key-one', 'key-two']);
  });
});
