/** Sessions count as active for this long after their last turn (keelson_sessions_active, the dashboard). */
export const SESSION_ACTIVE_WINDOW_MS = 15 * 60_000;

/**
 * The sessions that had a turn on this replica within the window. A Map keeps insertion order, and a touch
 * re-inserts its key, so the oldest entries are always first: pruning stops at the first fresh one, which
 * keeps both operations O(1) amortised on the turn path.
 */
export class RecentSessions {
  private readonly lastTurn = new Map<string, number>();

  constructor(private readonly windowMs = SESSION_ACTIVE_WINDOW_MS) {}

  touch(key: string, now = Date.now()): number {
    this.lastTurn.delete(key);
    this.lastTurn.set(key, now);
    return this.count(now);
  }

  count(now = Date.now()): number {
    for (const [key, at] of this.lastTurn) {
      if (now - at < this.windowMs) break;
      this.lastTurn.delete(key);
    }
    return this.lastTurn.size;
  }
}
