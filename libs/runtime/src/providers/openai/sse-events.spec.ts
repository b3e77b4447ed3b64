import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { sseData } from './sse-events';

async function events(parts: string[]): Promise<string[]> {
  const bytes = parts.map((p) => new TextEncoder().encode(p));
  const out: string[] = [];
  for await (const data of sseData(async () => bytes.shift())) out.push(data);
  return out;
}

describe('sseData', () => {
  it('reassembles events split across reads, with CRLF, comments and multi-line data', async () => {
    assert.deepEqual(await events(['data: {"a"', ':1}\r\n\r\n: keep-alive\n\nevent: x\ndata: l1\ndata:l2\n\n', 'data: [DONE]\n\n']), [
      '{"a":1}',
      'l1\nl2',
      '[DONE]',
    ]);
  });

  it('keeps a last event not closed by a blank line', async () => {
    assert.deepEqual(await events(['data: a\n\ndata: b']), ['a', 'b']);
  });
});
