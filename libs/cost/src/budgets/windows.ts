import type { BudgetWindow } from './budget-types';

const DAY_MS = 86_400_000;

export interface WindowPosition {
  /** The window's id inside counter keys: `d20261127`, `m202611` or `t`. */
  id: string;
  /** When the window starts over, epoch ms; undefined for `total`. */
  resetsAtMs?: number;
}

const pad = (n: number, width: number) => String(n).padStart(width, '0');

/**
 * Which UTC calendar window `nowMs` falls in and when it resets. The budget scripts compute the same in Lua
 * from Redis's clock (see budget-scripts.ts); this copy serves tests and callers that show reset times.
 */
export function windowAt(window: BudgetWindow, nowMs: number): WindowPosition {
  if (window === 'total') return { id: 't' };
  const now = new Date(nowMs);
  const y = now.getUTCFullYear();
  const m = now.getUTCMonth();
  if (window === 'day') {
    return { id: `d${pad(y, 4)}${pad(m + 1, 2)}${pad(now.getUTCDate(), 2)}`, resetsAtMs: (Math.floor(nowMs / DAY_MS) + 1) * DAY_MS };
  }
  return { id: `m${pad(y, 4)}${pad(m + 1, 2)}`, resetsAtMs: Date.UTC(y, m + 1, 1) };
}
