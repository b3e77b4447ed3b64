import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ChatMessage } from '@keelson/contracts';
import { OfflineModel } from './offline-model';
import type { ModelChunk, ModelRequest } from './provider';
import { countTokens } from './tokens';

async function collect(stream: AsyncIterable<ModelChunk>, onChunk?: (chunk: ModelChunk) => void): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of stream) {
    chunks.push(chunk);
    onChunk?.(chunk);
  }
  return chunks;
}

const text = (chunks: ModelChunk[]) => chunks.flatMap((c) => (c.type === 'text' ? [c.text] : [])).join('');
const last = (chunks: ModelChunk[]) => chunks.at(-1);
const user = (content: string): ChatMessage => ({ role: 'user', content });
const request = (messages: ChatMessage[], extra: Partial<ModelRequest> = {}): ModelRequest => ({ model: 'offline-echo', messages, ...extra });

describe('OfflineModel', () => {
  it('answers turn 1 by saying so and echoing the message', async () => {
    const reply = text(await collect(new OfflineModel().stream(request([user('hello, I am Ada')]))));
    assert.match(reply, /turn 1\b/);
    assert.match(reply, /You said: "hello, I am Ada"/);
    assert.doesNotMatch(reply, /Earlier you said/);
  });

  it('answers turn 2 by quoting the FIRST user message, which proves the history arrived', async () => {
    const history = [user('hello, I am Ada'), { role: 'assistant' as const, content: 'whatever' }, user('what is my name?')];
    const reply = text(await collect(new OfflineModel().stream(request(history))));
    assert.match(reply, /turn 2\b/);
    assert.match(reply, /You said: "what is my name\?"/);
    assert.match(reply, /Earlier you said: "hello, I am Ada"/);
  });

  it('streams word-sized text chunks, then usage, then finish stop', async () => {
    const messages: ChatMessage[] = [{ role: 'system', content: 'Be brief.' }, user('hello there')];
    const chunks = await collect(new OfflineModel().stream(request(messages)));
    const texts = chunks.filter((c) => c.type === 'text');
    assert.ok(texts.length > 5, `expected many small chunks, got ${texts.length}`);
    for (const chunk of texts) assert.equal(countTokens(chunk.text), 1, `chunk ${JSON.stringify(chunk.text)} is one word`);
    assert.deepEqual(chunks.slice(-2).map((c) => c.type), ['usage', 'finish']);
    assert.deepEqual(last(chunks), { type: 'finish', reason: 'stop' });
    const usage = chunks.find((c) => c.type === 'usage');
    assert.deepEqual(usage, {
      type: 'usage',
      usage: { inputTokens: 4, outputTokens: texts.length, totalTokens: 4 + texts.length },
    });
  });

  it('is deterministic', async () => {
    const run = async () => text(await collect(new OfflineModel().stream(request([user('same')]))));
    assert.equal(await run(), await run());
  });

  it('stops at maxOutputTokens with finish length', async () => {
    const chunks = await collect(new OfflineModel().stream(request([user('hello')], { maxOutputTokens: 3 })));
    assert.equal(chunks.filter((c) => c.type === 'text').length, 3);
    assert.equal(countTokens(text(chunks)), 3);
    assert.deepEqual(last(chunks), { type: 'finish', reason: 'length' });
  });

  it('stops when the signal aborts, with finish cancelled', async () => {
    const abort = new AbortController();
    let seen = 0;
    const chunks = await collect(new OfflineModel({ tokenDelayMs: 1 }).stream(request([user('hello')]), abort.signal), (c) => {
      if (c.type === 'text' && ++seen === 2) abort.abort();
    });
    assert.equal(chunks.filter((c) => c.type === 'text').length, 2);
    assert.deepEqual(last(chunks), { type: 'finish', reason: 'cancelled' });
  });

  it('throws when the latest user message is exactly __fail__', async () => {
    await assert.rejects(collect(new OfflineModel().stream(request([user('__fail__')]))), /failed on purpose/);
  });

  it('does not fail again once __fail__ is only in the history', async () => {
    const chunks = await collect(new OfflineModel().stream(request([user('__fail__'), user('retry')])));
    assert.deepEqual(last(chunks), { type: 'finish', reason: 'stop' });
  });

  it('waits before answering on __slow:<ms>__, and the wait is cancellable', async () => {
    const done = await collect(new OfflineModel().stream(request([user('__slow:5__')])));
    assert.deepEqual(last(done), { type: 'finish', reason: 'stop' });

    const abort = new AbortController();
    setTimeout(() => abort.abort(), 10);
    const cancelled = await collect(new OfflineModel().stream(request([user('__slow:600000__')]), abort.signal));
    assert.equal(text(cancelled), '', 'nothing is said before the wait is over');
    assert.deepEqual(last(cancelled), { type: 'finish', reason: 'cancelled' });
  });
});
