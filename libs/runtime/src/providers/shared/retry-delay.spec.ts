import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { parseRetryAfter, retryDelayMs } from './retry-delay';

describe('retry delays', () => {
  it('reads Retry-After as seconds, as an HTTP date, and prefers retry-after-ms', () => {
    const now = Date.parse('2026-01-01T00:00:00Z');
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '2' }), now), 2000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'Thu, 01 Jan 2026 00:00:05 GMT' }), now), 5000);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': '2', 'retry-after-ms': '150' }), now), 150);
    assert.equal(parseRetryAfter(new Headers({ 'retry-after': 'soon' }), now), undefined);
    assert.equal(parseRetryAfter(new Headers(), now), undefined);
  });

  it('caps Retry-After and uses full jitter without it', () => {
    assert.equal(retryDelayMs(0, 500, 30_000, 120_000), 30_000);
    assert.equal(retryDelayMs(3, 500, 30_000, undefined, () => 0.999), 3996);
    assert.equal(retryDelayMs(10, 500, 30_000, undefined, () => 0.5), 15_000);
    assert.equal(retryDelayMs(2, 500, 30_000, undefined, () => 0), 0);
  });
});
