import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Headers } from '@keelson/contracts';
import { DEAD_LETTER_ORIGINAL_MSG_ID, deadLetterHeaders } from './dead-letter';

describe('dead-letter headers', () => {
  const input = {
    stream: 'KEELSON_TASKS',
    subject: 'keelson.tasks.acme.a',
    streamSeq: 42,
    deliveryCount: 5,
    data: new Uint8Array(),
    headers: {
      'Nats-Msg-Id': 'acme:key-1',
      'Nats-Expected-Stream': 'KEELSON_TASKS',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      'Keelson-Tenant': 'acme',
    },
  };

  it('keeps the original headers and says why, where from and after how many deliveries', () => {
    const h = deadLetterHeaders(input, 'max_deliver reached: boom');
    assert.equal(h['Keelson-Tenant'], 'acme');
    assert.equal(h.traceparent, input.headers.traceparent);
    assert.equal(h[Headers.deadLetterReason], 'max_deliver reached: boom');
    assert.equal(h[Headers.deadLetterStream], 'KEELSON_TASKS');
    assert.equal(h[Headers.deadLetterSubject], 'keelson.tasks.acme.a');
    assert.equal(h[Headers.deadLetterSeq], '42');
    assert.equal(h[Headers.deliveries], '5');
  });

  it('drops server directives that would misdirect the dead letter, keeping the original msg id aside', () => {
    const h = deadLetterHeaders(input, 'x');
    assert.equal(h['Nats-Expected-Stream'], undefined);
    assert.equal(h['Nats-Msg-Id'], undefined);
    assert.equal(h[DEAD_LETTER_ORIGINAL_MSG_ID], 'acme:key-1');
  });

  it('flattens a multi-line reason into one header line', () => {
    const h = deadLetterHeaders(input, 'line one\r\nline two');
    assert.equal(h[Headers.deadLetterReason], 'line one line two');
  });
});
