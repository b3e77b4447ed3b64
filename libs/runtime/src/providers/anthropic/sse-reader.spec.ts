import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { readSse, type SseEvent } from './sse-reader';

function streamOf(parts: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(encoder.encode(part));
      controller.close();
    },
  });
}

async function events(parts: string[]): Promise<SseEvent[]> {
  const out: SseEvent[] = [];
  for await (const e of readSse(streamOf(parts))) out.push(e);
  return out;
}

describe('readSse', () => {
  it('parses events split across reads, with CRLF line ends, comments and multi-line data', async () => {
    assert.deepEqual(await events(['event: ping\r\nda', 'ta: {"type":"ping"}\r\n\r\n: a comment\n', 'data: a\ndata: b\n\n']), [
      { event: 'ping', data: '{"type":"ping"}' },
      { event: 'message', data: 'a\nb' },
    ]);
  });

  it('drops an event the stream ended in the middle of', async () => {
    assert.deepEqual(await events(['event: message_stop\ndata: {"type":"message_stop"}']), []);
  });
});
