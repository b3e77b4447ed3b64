import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseTaskMsgId, taskIdForKey, taskMsgId } from './ids';

describe('task ids for idempotency keys', () => {
  it('derives the same task id for the same tenant and key', () => {
    assert.equal(taskIdForKey('dev', 'order-1'), taskIdForKey('dev', 'order-1'));
  });

  it('derives different task ids for the same key in two tenants', () => {
    assert.notEqual(taskIdForKey('dev', 'order-1'), taskIdForKey('acme', 'order-1'));
  });

  it('round-trips a tenant-scoped Nats-Msg-Id, keeping colons inside the key', () => {
    assert.deepEqual(parseTaskMsgId(taskMsgId('dev', 'a:b')), { tenant: 'dev', key: 'a:b' });
  });

  it('rejects a Nats-Msg-Id without a tenant prefix', () => {
    assert.equal(parseTaskMsgId('no-prefix'), undefined);
    assert.equal(parseTaskMsgId(':key'), undefined);
    assert.equal(parseTaskMsgId('dev:'), undefined);
  });
});
