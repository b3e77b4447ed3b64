import { strict as assert } from 'node:assert';
import { describe, it, mock } from 'node:test';
import type { EventLoopUtilization } from 'node:perf_hooks';
import { fullGc, idleGcCheckMs, startIdleMemoryTrim } from './idle-memory-trim';

/** An event loop whose busy share per sample the test scripts: each interval tick reads the next value. */
function scriptedLoop(shares: number[]): (previous?: EventLoopUtilization) => EventLoopUtilization {
  let i = 0;
  return (previous) => {
    if (!previous) return { idle: 0, active: 0, utilization: 0 };
    return { idle: 0, active: 0, utilization: shares[i++] ?? 0 };
  };
}

function run(shares: number[], quietSamples = 3): number[] {
  mock.timers.enable({ apis: ['setInterval'] });
  const collectedAt: number[] = [];
  let tick = 0;
  const trim = startIdleMemoryTrim({ checkEveryMs: 1_000, quietSamples, utilization: scriptedLoop(shares), gc: () => collectedAt.push(tick) });
  try {
    for (tick = 1; tick <= shares.length; tick++) mock.timers.tick(1_000);
    return collectedAt;
  } finally {
    trim.stop();
    mock.timers.reset();
  }
}

describe('idle memory trim', () => {
  it('collects once after the given number of quiet samples, not on every quiet sample after', () => {
    assert.deepEqual(run([0.5, 0.01, 0.01, 0.01, 0.01, 0.01, 0.01]), [4]);
  });

  it('a busy sample restarts the count and re-arms the next quiet period', () => {
    assert.deepEqual(run([0.01, 0.01, 0.3, 0.01, 0.01, 0.01, 0.9, 0.01, 0.01, 0.01]), [6, 10]);
  });

  it('never collects while the loop stays busy', () => {
    assert.deepEqual(run([0.2, 0.5, 0.03, 0.9, 0.4]), []);
  });

  it('fullGc frees unreachable objects without putting gc on the global object', () => {
    const gc = fullGc();
    assert.equal((globalThis as { gc?: unknown }).gc, undefined);
    let garbage: object[] | undefined = Array.from({ length: 300_000 }, (_, i) => ({ i, s: `x${i}` }));
    const withGarbage = process.memoryUsage().heapUsed;
    garbage = undefined;
    gc();
    const after = process.memoryUsage().heapUsed;
    assert.equal(garbage, undefined);
    assert.ok(after < withGarbage - 5 * 1024 * 1024, `heap used ${withGarbage} -> ${after}: expected the 300,000 objects freed`);
  });

  it('IDLE_GC_CHECK_MS: default 5 000, 0 switches it off, anything else not a whole number is refused', () => {
    assert.equal(idleGcCheckMs({}), 5_000);
    assert.equal(idleGcCheckMs({ IDLE_GC_CHECK_MS: '0' }), 0);
    assert.equal(idleGcCheckMs({ IDLE_GC_CHECK_MS: '2000' }), 2_000);
    assert.throws(() => idleGcCheckMs({ IDLE_GC_CHECK_MS: '1.5' }), /IDLE_GC_CHECK_MS/);
    assert.throws(() => idleGcCheckMs({ IDLE_GC_CHECK_MS: 'soon' }), /IDLE_GC_CHECK_MS/);
  });
});
