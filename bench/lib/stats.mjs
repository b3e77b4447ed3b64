// Small numeric helpers: percentiles, rates, rounding, and per-process CPU time from /proc.
import { readFileSync } from 'node:fs';

export function latencySummary(valuesMs) {
  if (valuesMs.length === 0) return { count: 0 };
  const sorted = Float64Array.from(valuesMs).sort();
  const at = (p) => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))];
  let sum = 0;
  for (const v of sorted) sum += v;
  return {
    count: sorted.length,
    p50Ms: round(at(50), 2),
    p90Ms: round(at(90), 2),
    p99Ms: round(at(99), 2),
    maxMs: round(sorted[sorted.length - 1], 2),
    meanMs: round(sum / sorted.length, 2),
  };
}

export const round = (x, digits = 0) => {
  if (x === undefined || x === null || !Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const rate = (count, ms) => (ms > 0 ? round((count * 1000) / ms, 1) : undefined);

/** Wall clock in ms with sub-millisecond resolution. */
export const now = () => performance.now();

const CLOCK_TICKS = 100; // USER_HZ on Linux (getconf CLK_TCK); /proc reports CPU time in these.

/** CPU seconds (user + system) a process has used so far, or undefined off Linux or once it is gone. */
export function processCpuSeconds(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after it are fixed.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpuSeconds() {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = v[3] + (v[4] ?? 0); // idle + iowait
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / CLOCK_TICKS, total: total / CLOCK_TICKS };
  } catch {
    return undefined;
  }
}

/**
 * Samples CPU time of named processes and of the machine around a phase. `stop()` returns, per process,
 * CPU seconds and the share of one core it used, plus the machine's busy share (all cores) over the phase,
 * which shows how much of the machine was taken by processes outside the benchmark.
 */
export function cpuMeter(pids, items) {
  const t0 = now();
  const m0 = machineCpuSeconds();
  const before = Object.fromEntries(Object.entries(pids).map(([name, pid]) => [name, processCpuSeconds(pid)]));
  return {
    /** `count`: items the phase handled, to add CPU ms per item (per process and in all). */
    stop(count = items) {
      const wallS = (now() - t0) / 1000;
      const m1 = machineCpuSeconds();
      const processes = {};
      let ours = 0;
      for (const [name, pid] of Object.entries(pids)) {
        const a = before[name];
        const b = processCpuSeconds(pid);
        if (a === undefined || b === undefined) continue;
        const cpuS = b - a;
        ours += cpuS;
        processes[name] = { cpuS: round(cpuS, 2), corePct: round((100 * cpuS) / wallS, 0) };
        if (count) processes[name].cpuMsPerItem = round((1000 * cpuS) / count, 3);
      }
      const out = { wallS: round(wallS, 2), processes, benchProcessesCpuS: round(ours, 2) };
      if (count) out.cpuMsPerItem = round((1000 * ours) / count, 3); // every process the bench started, itself included
      if (m0 && m1 && m1.total > m0.total) {
        const busy = m1.busy - m0.busy;
        out.machineBusyPct = round((100 * busy) / (m1.total - m0.total), 0);
        out.otherCpuS = round(Math.max(0, busy - ours), 2); // CPU used by processes the bench did not start
      }
      return out;
    },
  };
}
