import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RecentSessions } from './recent-sessions';

describe('RecentSessions', () => {
  it('counts each session once, and drops those whose last turn left the window', () => {
    const recent = new RecentSessions(1_000);
    assert.equal(recent.touch('dev/a', 0), 1);
    assert.equal(recent.touch('dev/b', 500), 2);
    assert.equal(recent.touch('dev/a', 900), 2, 'a second turn of a is still one session');
    assert.equal(recent.count(1_499), 2);
    assert.equal(recent.count(1_500), 1, 'b left the window; a turned again at 900');
    assert.equal(recent.count(1_900), 0);
  });
});
