import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
  name: string;
  pid: number;
  /** Resident set size (VmRSS). */
  rssKiB: number;
  /** Open file descriptors: sockets, files, pipes (/proc/<pid>/fd). */
  fds: number;
  /** CPU time used so far, user + system. */
  cpuS: number;
}

/** USER_HZ on Linux: /proc reports CPU time in these ticks. */
const CLOCK_TICKS = 100;

/** Resident memory, open descriptors and CPU time of each process, from /proc (Linux only; the suites run there). */
export function sampleProcesses(processes: Array<{ name: string; pid: number }>): ProcessSample[] {
  return processes.map(({ name, pid }) => {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const rssKiB = Number(/^VmRSS:\s+(\d+) kB$/m.exec(status)?.[1] ?? NaN);
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces; the fields after it are fixed (utime and stime are 14 and 15).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
    return { name, pid, rssKiB, fds: readdirSync(`/proc/${pid}/fd`).length, cpuS };
  });
}

/**
 * `readings` samples `intervalMs` apart, reduced to each process's smallest RSS and descriptor count (its CPU
 * time from the last): a heap between two collections, or a connection in flight, is not growth.
 */
export async function sampleWindow(processes: Array<{ name: string; pid: number }>, readings = 5, intervalMs = 1_000): Promise<ProcessSample[]> {
  let low = sampleProcesses(processes);
  for (let i = 1; i < readings; i++) {
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
    const next = sampleProcesses(processes);
    low = low.map((a, j) => ({ ...a, rssKiB: Math.min(a.rssKiB, next[j]!.rssKiB), fds: Math.min(a.fds, next[j]!.fds), cpuS: next[j]!.cpuS }));
  }
  return low;
}

/** Busy and total CPU seconds of the whole machine (all cores), from /proc/stat. */
export function machineCpu(): { busyS: number; totalS: number } {
  const v = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const idle = v[3]! + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busyS: (total - idle) / CLOCK_TICKS, totalS: total / CLOCK_TICKS };
}
