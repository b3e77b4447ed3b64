import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import type { NatsConnection } from 'nats';
import { InvokeCancellations } from './invoke-cancellations';

const cancellations = () => new InvokeCancellations({} as NatsConnection);

describe('InvokeCancellations', () => {
  it('aborts the invoke running under that tenant and cancel id, and only it', () => {
    const registry = cancellations();
    const mine = registry.register('dev', 'cnl_1');
    const other = registry.register('acme', 'cnl_1');
    assert.equal(registry.cancel('dev', 'cnl_1'), true);
    assert.equal(mine.signal.aborted, true);
    assert.equal(other.signal.aborted, false, 'another tenant with the same id is untouched');
  });

  it('remembers a cancel that came before its invoke, so the invoke starts cancelled', () => {
    const registry = cancellations();
    assert.equal(registry.cancel('dev', 'cnl_early'), false);
    assert.equal(registry.register('dev', 'cnl_early').signal.aborted, true);
    assert.equal(registry.register('dev', 'cnl_early').signal.aborted, false, 'remembered once');
  });

  it('forgets a released invoke', () => {
    const registry = cancellations();
    const run = registry.register('dev', 'cnl_2');
    run.release();
    assert.equal(registry.cancel('dev', 'cnl_2'), false);
    assert.equal(run.signal.aborted, false);
  });
});
