import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BUCKET_MS, MAX_WINDOW_MS } from './time-buckets';
import { LATENCY_BOUNDS_MS, TrafficWindow, quantile } from './traffic-window';

const T0 = Date.parse('2026-11-27T10:00:00Z');

describe('TrafficWindow', () => {
  it('counts requests, 5xx and 4xx per execution model and step, for the tenants asked', () => {
    const w = new TrafficWindow();
    w.record({ at: T0 + 1_000, tenant: 'dev', executionModel: 'stateless', status: 200, durationMs: 4 });
    w.record({ at: T0 + 2_000, tenant: 'dev', executionModel: 'stateless', status: 503, durationMs: 9 });
    w.record({ at: T0 + 7_000, tenant: 'acme', executionModel: 'stateless', status: 429, durationMs: 1 });
    w.record({ at: T0 + 7_000, tenant: undefined, executionModel: 'task', status: 401, durationMs: 1 });
    const all = w.series(T0, T0 + 10_000, BUCKET_MS);
    const stateless = all.find((s) => s.executionModel === 'stateless')!.points;
    assert.deepEqual(stateless.map((p) => [p.requests, p.errors, p.clientErrors]), [[2, 1, 0], [1, 0, 1]]);
    assert.equal(all.find((s) => s.executionModel === 'task')!.points[1]!.clientErrors, 1, 'an unauthenticated request counts too');
    const devOnly = w.series(T0, T0 + 10_000, BUCKET_MS, new Set(['dev']));
    assert.deepEqual(devOnly.find((s) => s.executionModel === 'stateless')!.points.map((p) => p.requests), [2, 0]);
    assert.equal(devOnly.find((s) => s.executionModel === 'task')!.points[1]!.requests, 0, "another tenant's requests stay out");
    assert.deepEqual(w.tenants().sort(), ['acme', 'dev']);
  });

  it('merges buckets into wider steps and leaves empty ones without percentiles', () => {
    const w = new TrafficWindow();
    for (let i = 0; i < 4; i++) w.record({ at: T0 + i * BUCKET_MS, tenant: 'dev', executionModel: 'session', status: 200, durationMs: 10 });
    const [first, second] = w.series(T0, T0 + 4 * BUCKET_MS, 2 * BUCKET_MS).find((s) => s.executionModel === 'session')!.points;
    assert.equal(first!.requests, 2);
    assert.equal(second!.requests, 2);
    const empty = w.series(T0 + 10 * BUCKET_MS, T0 + 11 * BUCKET_MS, BUCKET_MS)[0]!.points[0]!;
    assert.equal(empty.requests, 0);
    assert.equal(empty.p50Ms, undefined);
  });

  it('estimates percentiles within one latency bucket of the truth', () => {
    const w = new TrafficWindow();
    for (let ms = 1; ms <= 100; ms++) w.record({ at: T0, tenant: 'dev', executionModel: 'stateless', status: 200, durationMs: ms });
    const p = w.series(T0, T0 + BUCKET_MS, BUCKET_MS).find((s) => s.executionModel === 'stateless')!.points[0]!;
    for (const [got, want] of [[p.p50Ms!, 50], [p.p95Ms!, 95], [p.p99Ms!, 99]] as const) {
      assert.ok(got >= want / 1.25 && got <= want * 1.25, `${got} ms for a true ${want} ms`);
    }
  });

  it('forgets what is older than the longest window', () => {
    const w = new TrafficWindow();
    w.record({ at: T0, tenant: 'dev', executionModel: 'stateless', status: 200, durationMs: 1 });
    w.record({ at: T0 + MAX_WINDOW_MS + BUCKET_MS, tenant: 'dev', executionModel: 'stateless', status: 200, durationMs: 1 });
    const points = w.series(T0, T0 + BUCKET_MS, BUCKET_MS).find((s) => s.executionModel === 'stateless')!.points;
    assert.equal(points[0]!.requests, 0);
  });

  it('puts a latency beyond the last bound at the top, not off the scale', () => {
    const counts = new Uint32Array(LATENCY_BOUNDS_MS.length + 1);
    counts[LATENCY_BOUNDS_MS.length] = 1;
    assert.ok(quantile(counts, 1, 0.99) >= LATENCY_BOUNDS_MS.at(-1)!);
  });
});
