import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { BudgetStateSchema, parseUsageSubject, UsageRecordSchema, UsageStream, UsageSubjects } from './usage';

const record = {
  id: 'usg_0123456789abcdef0123456789abcdef',
  timestamp: '2026-11-27T12:00:00.000Z',
  tenant: 'dev',
  agentId: 'assistant',
  sessionId: 'ses_1',
  runId: 'run_1',
  callIndex: 0,
  traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
  provider: 'openai',
  model: 'gpt-4o',
  inputTokens: 10,
  outputTokens: 5,
  cachedInputTokens: 0,
  costMicroUsd: 75,
  priceTableVersion: '2025-08-15.1',
  unpriced: false,
  status: 'completed',
  estimated: false,
};

describe('usage contracts', () => {
  it('accepts a usage record and refuses bad ones', () => {
    assert.equal(UsageRecordSchema.safeParse(record).success, true);
    assert.equal(UsageRecordSchema.safeParse({ ...record, taskId: 'tsk_1' }).success, false, 'session and task at once');
    assert.equal(UsageRecordSchema.safeParse({ ...record, costMicroUsd: 1.5 }).success, false, 'micro-USD are integers');
    assert.equal(UsageRecordSchema.safeParse({ ...record, status: 'partial' }).success, false);
    assert.equal(UsageRecordSchema.safeParse({ ...record, tenant: 'a.b' }).success, false, 'a tenant never breaks a subject');
  });

  it('builds and parses usage subjects inside the usage stream', () => {
    const subject = UsageSubjects.record('dev', 'assistant');
    assert.equal(subject, 'keelson.usage.dev.assistant');
    assert.deepEqual(parseUsageSubject(subject), { tenant: 'dev', agentId: 'assistant' });
    assert.equal(parseUsageSubject('keelson.tasks.dev.assistant'), undefined);
    assert.deepEqual(UsageStream.subjects, ['keelson.usage.>']);
    assert.equal(UsageSubjects.tenant('dev'), 'keelson.usage.dev.>');
  });

  it('describes a budget without a reset time for total windows', () => {
    const total = { scope: 'tenant', window: 'total', limitMicroUsd: 1, spentMicroUsd: 0, reservedMicroUsd: 0, remainingMicroUsd: 1, spentTokens: 0, reservedTokens: 0 };
    assert.equal(BudgetStateSchema.safeParse(total).success, true);
  });
});
