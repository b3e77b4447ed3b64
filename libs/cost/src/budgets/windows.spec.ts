import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { windowAt } from './windows';

describe('windowAt (UTC calendar windows)', () => {
  it('a day runs from 00:00 UTC to the next 00:00 UTC', () => {
    const w = windowAt('day', Date.parse('2026-11-27T23:59:59.999Z'));
    assert.deepEqual(w, { id: 'd20261127', resetsAtMs: Date.parse('2026-11-28T00:00:00Z') });
  });

  it('a month resets on the 1st, across a year end and after a leap February', () => {
    assert.deepEqual(windowAt('month', Date.parse('2026-12-31T12:00:00Z')), { id: 'm202612', resetsAtMs: Date.parse('2027-01-01T00:00:00Z') });
    assert.deepEqual(windowAt('month', Date.parse('2028-02-29T00:00:00Z')), { id: 'm202802', resetsAtMs: Date.parse('2028-03-01T00:00:00Z') });
    assert.deepEqual(windowAt('day', Date.parse('2028-02-29T00:00:00Z')).id, 'd20280229');
  });

  it('total never resets', () => {
    assert.deepEqual(windowAt('total', Date.now()), { id: 't' });
  });
});
