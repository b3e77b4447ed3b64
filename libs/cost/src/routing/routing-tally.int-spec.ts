import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { RoutingTally } from './routing-tally';

describe('RoutingTally against a real Redis', () => {
  let server: RedisServerHandle;
  let redis: ReturnType<typeof createClient>;

  before(async () => {
    server = await startRedis();
    redis = createClient({ url: server.url });
    await redis.connect();
  });
  after(async () => {
    await redis.close();
    await server.stop();
  });

  it('counts decisions per tier and reason over the days asked for, per tenant', async () => {
    const tally = new RoutingTally(redis);
    const day1 = new Date('2026-11-01T10:00:00Z');
    const day2 = new Date('2026-11-02T23:59:00Z');
    await tally.count('dev', { tier: 'small', reasons: [], pinned: false, downgraded: false }, day1);
    await tally.count('dev', { tier: 'standard', reasons: ['reasoning_cue:compare', 'session_pinned'], pinned: true, downgraded: false }, day2);
    await tally.count('dev', { tier: 'small', reasons: ['budget_low:12pct'], pinned: false, downgraded: true }, day2);
    await tally.count('acme', { tier: 'reasoning', reasons: ['math'], pinned: false, downgraded: false }, day2);
    assert.deepEqual(await tally.read('dev', day1, day2), {
      decisions: 3,
      byTier: { small: 2, standard: 1 },
      byReason: { 'reasoning_cue:compare': 1, session_pinned: 1, budget_low: 1 },
      pinned: 1,
      downgraded: 1,
    });
    assert.equal((await tally.read('dev', day2, day2)).decisions, 2, 'only the days asked for');
    assert.equal((await tally.read('acme', day1, day2)).decisions, 1, 'tenants apart');
  });
});
