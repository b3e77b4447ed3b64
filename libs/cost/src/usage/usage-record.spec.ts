import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { UsageRecordSchema } from '@keelson/contracts';
import { PRICE_TABLE } from '../pricing/price-table';
import { usageRecord, usageRecordId, usageStatusFor, type UsageRecordInput } from './usage-record';

const input: UsageRecordInput = {
  tenant: 'dev',
  agentId: 'assistant',
  runId: 'tsk_1',
  taskId: 'tsk_1',
  callIndex: 0,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  provider: 'anthropic',
  model: 'claude-3-5-haiku-20241022',
  inputTokens: 1_000,
  cachedInputTokens: 500,
  outputTokens: 100,
  status: 'completed',
  estimated: false,
  timestamp: new Date('2026-11-27T12:00:00Z'),
};

describe('usageRecord', () => {
  it('builds a valid record priced with the table version', () => {
    const record = usageRecord(input);
    assert.equal(UsageRecordSchema.safeParse(record).success, true);
    // 500 x 0.80 + 500 x 0.08 + 100 x 4.00 micro-USD
    assert.equal(record.costMicroUsd, 840);
    assert.deepEqual([record.priceTableVersion, record.unpriced, record.timestamp], [PRICE_TABLE.version, false, '2026-11-27T12:00:00.000Z']);
    assert.equal(record.sessionId, undefined);
    assert.equal(record.apiKeyId, undefined);
  });

  it('has a stable id per tenant, run, attempt and call, so a re-published record is de-duplicated', () => {
    assert.equal(usageRecord(input).id, usageRecord({ ...input, timestamp: new Date() }).id);
    assert.equal(usageRecord(input).id, usageRecordId('dev', 'tsk_1', 1, 0));
    const ids = new Set([usageRecordId('dev', 'tsk_1', 1, 0), usageRecordId('dev', 'tsk_1', 2, 0), usageRecordId('dev', 'tsk_1', 1, 1), usageRecordId('acme', 'tsk_1', 1, 0)]);
    assert.equal(ids.size, 4);
  });

  it('records an unknown model at cost 0 with the unpriced flag, and an estimate as estimated', () => {
    const record = usageRecord({ ...input, provider: 'openai', model: 'local-llama', status: 'cancelled', estimated: true });
    assert.deepEqual([record.costMicroUsd, record.unpriced, record.status, record.estimated], [0, true, 'cancelled', true]);
  });

  it('refuses a record that belongs to a session and a task at once, or counts more cached than input tokens', () => {
    assert.throws(() => usageRecord({ ...input, sessionId: 'ses_1' }), /session or a task/);
    assert.throws(() => usageRecord({ ...input, cachedInputTokens: 2_000 }), /cached tokens/);
  });

  it('maps finish reasons to statuses', () => {
    assert.deepEqual((['stop', 'tool_calls', 'length', 'cancelled', 'error'] as const).map(usageStatusFor), ['completed', 'completed', 'truncated', 'cancelled', 'failed']);
  });
});
