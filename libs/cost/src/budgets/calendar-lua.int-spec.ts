import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { createClient } from 'redis';
import { startRedis, type RedisServerHandle } from '@keelson/testing';
import { CALENDAR_LUA } from './calendar-lua';
import { windowAt } from './windows';
import type { BudgetWindow } from './budget-types';

describe('the budget scripts\' calendar (Lua) agrees with windowAt (TypeScript)', () => {
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

  it('on month ends, year ends, leap days and century years', async () => {
    const script = `${CALENDAR_LUA}\nlocal id, resetsAt = window_of(ARGV[1], tonumber(ARGV[2]))\nreturn { id, resetsAt }`;
    const instants = ['1970-01-01T00:00:00Z', '2000-02-29T23:59:59.999Z', '2024-12-31T23:59:59.999Z', '2025-01-01T00:00:00Z',
      '2026-11-27T13:00:00Z', '2100-02-28T12:00:00Z', '2100-03-01T00:00:00Z', '2399-12-31T23:00:00Z'];
    for (const iso of instants) {
      for (const window of ['day', 'month', 'total'] as BudgetWindow[]) {
        const at = Date.parse(iso);
        const [id, resetsAt] = (await redis.eval(script, { keys: [], arguments: [window, String(at)] })) as [string, number];
        const expected = windowAt(window, at);
        assert.deepEqual({ id, resetsAtMs: resetsAt || undefined }, { id: expected.id, resetsAtMs: expected.resetsAtMs }, `${window} at ${iso}`);
      }
    }
  });
});
