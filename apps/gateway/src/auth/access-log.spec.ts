import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AccessLog } from './access-log';

const T0 = Date.parse('2026-11-27T10:00:00Z');
const call = (over: Partial<Parameters<AccessLog['record']>[0]> = {}) => ({ at: T0 + 1_000, tenant: 'acme', keyId: 'k1', method: 'POST', route: '/v1/tasks', status: 202, source: '10.0.0.1', ...over });

describe('AccessLog', () => {
  it('writes one auth.access event per key and ended minute, with routes, errors and sources', () => {
    const log = new AccessLog();
    log.record(call());
    log.record(call({ status: 429 }));
    log.record(call({ route: '/v1/tasks/:taskId', method: 'GET', source: '10.0.0.2' }));
    log.record(call({ keyId: 'k2' }));
    log.record(call({ at: T0 + 61_000 }));
    assert.deepEqual(log.drain(T0 + 59_000), [], 'nothing before the minute ends');
    const events = log.drain(T0 + 60_000);
    assert.equal(events.length, 2);
    const k1 = events.find((e) => e.apiKeyId === 'k1')!;
    assert.equal(k1.type, 'auth.access');
    assert.equal(k1.tenant, 'acme');
    assert.deepEqual({ ...k1.data, replica: undefined }, {
      keyId: 'k1',
      minute: '2026-11-27T10:00:00.000Z',
      calls: 3,
      errors: 1,
      routes: [{ route: 'POST /v1/tasks', calls: 2, errors: 1 }, { route: 'GET /v1/tasks/:taskId', calls: 1, errors: 0 }],
      sources: [{ address: '10.0.0.1', calls: 2 }, { address: '10.0.0.2', calls: 1 }],
      replica: undefined,
    });
    assert.deepEqual(log.drain(T0 + 60_000), [], 'drained minutes are forgotten');
    assert.equal(log.drain(T0 + 60_000, true).length, 1, 'at shutdown the current minute goes too');
  });

  it('counts addresses beyond the first 20 of a minute without listing them', () => {
    const log = new AccessLog();
    for (let i = 0; i < 25; i++) log.record(call({ source: `10.0.1.${i}` }));
    const [event] = log.drain(T0 + 60_000);
    assert.equal((event!.data!['sources'] as unknown[]).length, 20);
    assert.equal(event!.data!['otherSources'], 5);
  });
});
