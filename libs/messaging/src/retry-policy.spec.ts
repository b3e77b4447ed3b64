import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { ConsumerSpec } from '@keelson/contracts';
import { DeferError, PoisonMessageError } from './errors';
import { retryDelayMs, settleFailure } from './retry-policy';

const spec: ConsumerSpec = {
  stream: 'S',
  durable: 'd',
  filterSubject: 's.>',
  ackWaitMs: 30_000,
  maxDeliver: 4,
  maxAckPending: 10,
  retryBackoffMs: [100, 1_000, 10_000],
  description: 'test',
};
const noJitter = () => 0.5;

describe('settleFailure', () => {
  it('naks an ordinary error with the backoff step of its delivery', () => {
    assert.deepEqual(settleFailure(spec, 1, new Error('db down'), noJitter), { action: 'nak', delayMs: 100, deferred: false });
    assert.deepEqual(settleFailure(spec, 2, new Error('db down'), noJitter), { action: 'nak', delayMs: 1_000, deferred: false });
    assert.deepEqual(settleFailure(spec, 3, new Error('db down'), noJitter), { action: 'nak', delayMs: 10_000, deferred: false });
  });

  it('dead-letters an ordinary error on the last delivery, naming the error', () => {
    assert.deepEqual(settleFailure(spec, 4, new Error('db down')), { action: 'dead-letter', reason: 'max_deliver reached: db down' });
  });

  it('dead-letters a poison message on its first delivery, with its code', () => {
    assert.deepEqual(settleFailure(spec, 1, new PoisonMessageError('unknown agent', 'agent_not_found')), {
      action: 'dead-letter',
      reason: 'agent_not_found: unknown agent',
    });
    assert.deepEqual(settleFailure(spec, 1, new PoisonMessageError('bad shape')), { action: 'dead-letter', reason: 'bad shape' });
  });

  it('naks a deferral with its own delay, marked as deferred', () => {
    assert.deepEqual(settleFailure(spec, 2, new DeferError(250, 'lease held')), { action: 'nak', delayMs: 250, deferred: true });
  });

  it('dead-letters a deferral on the last delivery, since JetStream would not deliver it again', () => {
    assert.deepEqual(settleFailure(spec, 4, new DeferError(250, 'lease held')), {
      action: 'dead-letter',
      reason: 'max_deliver reached while deferred: lease held',
    });
  });

  it('treats a thrown non-Error like an error', () => {
    assert.deepEqual(settleFailure(spec, 4, 'boom'), { action: 'dead-letter', reason: 'max_deliver reached: boom' });
  });
});

describe('retryDelayMs', () => {
  it('repeats the last step and keeps jitter within ±10 %', () => {
    assert.equal(retryDelayMs(spec, 9, noJitter), 10_000);
    assert.equal(retryDelayMs(spec, 1, () => 0), 90);
    assert.equal(retryDelayMs(spec, 1, () => 1), 110);
  });

  it('is 0 without backoff steps', () => {
    assert.equal(retryDelayMs({ ...spec, retryBackoffMs: [] }, 1), 0);
  });
});
