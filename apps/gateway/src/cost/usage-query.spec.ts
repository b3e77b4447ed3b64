import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import { parseUsageQuery } from './usage-query';

describe('GET /v1/usage query', () => {
  it('defaults to 100 records from the start of the stream', () => {
    assert.deepEqual(parseUsageQuery({}), { limit: 100 });
  });

  it('reads every filter', () => {
    assert.deepEqual(
      parseUsageQuery({ agent: 'assistant', key: 'k1', from: '2026-11-01', to: '2026-11-27T09:30:00+01:00', limit: '1000', cursor: '42' }),
      {
        agentId: 'assistant',
        apiKeyId: 'k1',
        from: new Date('2026-11-01T00:00:00Z'),
        to: new Date('2026-11-27T08:30:00Z'),
        limit: 1000,
        cursor: 42,
      },
    );
  });

  it('answers 400 naming the bad parameter', () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ from: 'yesterday' }, 'from'],
      [{ from: '2026-13-45' }, 'from'],
      [{ to: '1700000000' }, 'to'],
      [{ from: '2026-11-02', to: '2026-11-01' }, 'to'],
      [{ limit: '0' }, 'limit'],
      [{ limit: '1001' }, 'limit'],
      [{ limit: '10.5' }, 'limit'],
      [{ cursor: 'abc' }, 'cursor'],
      [{ cursor: '0' }, 'cursor'],
      [{ agent: 'keelson.>' }, 'agent'],
      [{ agent: ['a', 'b'] }, 'agent'],
      [{ key: 'k'.repeat(129) }, 'key'],
    ];
    for (const [query, field] of cases) {
      assert.throws(
        () => parseUsageQuery(query),
        (err: unknown) => err instanceof KeelsonError && err.status === 400 && err.field === field,
        JSON.stringify(query),
      );
    }
  });
});
