import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { taskIdForKey, taskMsgId } from '@keelson/contracts';
import { PoisonMessageError } from '@keelson/messaging';
import { resolveTaskId } from './task-id';

describe('resolveTaskId', () => {
  it("takes the body's taskId before anything else", () => {
    assert.equal(resolveTaskId({ tenant: 'dev', bodyTaskId: 'tsk_given', msgId: 'dev:k1', streamSeq: 7 }), 'tsk_given');
  });

  it('derives the id from a `{tenant}:{key}` Nats-Msg-Id exactly as the gateway does from the same idempotency key', () => {
    assert.equal(resolveTaskId({ tenant: 'dev', msgId: taskMsgId('dev', 'order-1'), streamSeq: 7 }), taskIdForKey('dev', 'order-1'));
  });

  it('keeps colons inside the key of a tenant-scoped Nats-Msg-Id', () => {
    assert.equal(resolveTaskId({ tenant: 'dev', msgId: 'dev:a:b', streamSeq: 7 }), taskIdForKey('dev', 'a:b'));
  });

  it('uses a Nats-Msg-Id without a tenant prefix whole, as the key', () => {
    assert.equal(resolveTaskId({ tenant: 'dev', msgId: 'order-1', streamSeq: 7 }), taskIdForKey('dev', 'order-1'));
  });

  it('uses a Nats-Msg-Id whole when its colon starts or ends it', () => {
    assert.equal(resolveTaskId({ tenant: 'dev', msgId: ':k', streamSeq: 7 }), taskIdForKey('dev', ':k'));
    assert.equal(resolveTaskId({ tenant: 'dev', msgId: 'dev:', streamSeq: 7 }), taskIdForKey('dev', 'dev:'));
  });

  it('refuses a Nats-Msg-Id that names another tenant, as poison', () => {
    assert.throws(
      () => resolveTaskId({ tenant: 'dev', msgId: 'acme:order-1', streamSeq: 7 }),
      (err) => err instanceof PoisonMessageError && err.reason.startsWith('Nats-Msg-Id names another tenant'),
    );
  });

  it('falls back to the stream sequence without a taskId or Nats-Msg-Id (or with an empty one)', () => {
    assert.equal(resolveTaskId({ tenant: 'dev', streamSeq: 42 }), 'tsk_seq42');
    assert.equal(resolveTaskId({ tenant: 'dev', msgId: '', streamSeq: 42 }), 'tsk_seq42');
  });
});
