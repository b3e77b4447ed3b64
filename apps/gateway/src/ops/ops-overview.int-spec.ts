import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Consumers, OpsSubjects, type AuditRecord, type BudgetState } from '@keelson/contracts';
import { allStreams, encodeJson, provisionConsumer, provisionStreams } from '@keelson/messaging';
import { startNats, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';
import { OpsOverviewBuilder, type OverviewSources } from './ops-overview';
import { SpendWindow } from './spend-window';
import { TrafficWindow } from './traffic-window';

const NOW = Date.parse('2026-11-27T10:00:00Z');

const budget = (over: Partial<BudgetState> = {}): BudgetState => ({
  scope: 'tenant',
  window: 'day',
  limitMicroUsd: 10_000_000,
  spentMicroUsd: 4_000_000,
  reservedMicroUsd: 0,
  remainingMicroUsd: 6_000_000,
  resetsAt: '2026-11-28T00:00:00.000Z',
  spentTokens: 0,
  reservedTokens: 0,
  ...over,
});

const failedRun = (tenant: string, time: string, over: Partial<AuditRecord> = {}): AuditRecord =>
  ({
    id: `run:${time}`,
    tenant,
    type: 'run.failed',
    time,
    service: 'task-worker',
    actor: { kind: 'service', id: 'task-worker' },
    taskId: 'tsk_1',
    runId: 'tsk_1',
    agentId: 'assistant',
    traceId: 'a'.repeat(32),
    data: { error: { code: 'agent_failed', message: 'the model failed' } },
    refs: [],
    seq: 1,
    prevHash: '0'.repeat(64),
    hash: '1'.repeat(64),
    ...over,
  }) as AuditRecord;

describe('OpsOverviewBuilder', () => {
  let nats: NatsServerHandle;
  let nc: NatsConnection;

  before(async () => {
    nats = await startNats();
    nc = await connect({ servers: nats.url, name: 'ops-overview-test' });
    await provisionStreams(nc, allStreams());
  });
  after(async () => {
    await nc?.close();
    await nats?.stop();
  });

  function sources(over: Partial<OverviewSources> = {}): OverviewSources {
    const traffic = new TrafficWindow();
    traffic.record({ at: NOW - 10_000, tenant: 'dev', executionModel: 'stateless', status: 200, durationMs: 3 });
    traffic.record({ at: NOW - 10_000, tenant: 'acme', executionModel: 'stateless', status: 200, durationMs: 3 });
    const spend = new SpendWindow();
    const usage = { id: `usg_${'0'.repeat(32)}`, agentId: 'assistant', runId: 'r', callIndex: 0, provider: 'p', model: 'm', inputTokens: 1, outputTokens: 1, cachedInputTokens: 0, priceTableVersion: 'v', unpriced: false, status: 'completed', estimated: false } as const;
    // 1 USD in the last 15 minutes: 4 USD an hour.
    spend.add({ ...usage, tenant: 'dev', timestamp: new Date(NOW - 60_000).toISOString(), costMicroUsd: 1_000_000 });
    spend.add({ ...usage, tenant: 'acme', timestamp: new Date(NOW - 60_000).toISOString(), costMicroUsd: 7 });
    return {
      nats: nc,
      traffic,
      spend,
      budgets: async (tenant) => (tenant === 'dev' ? [budget()] : []),
      failedRuns: async (tenant) => [
        failedRun(tenant, '2026-11-27T09:57:00.000Z'),
        failedRun(tenant, '2026-11-27T09:58:00.000Z'),
        failedRun(tenant, '2026-11-27T09:59:00.000Z', { traceId: undefined, taskId: undefined, sessionId: 'ses_1', runId: 'ses_1:2' }),
      ],
      knownTenants: () => ['dev', 'acme'],
      operatorTenants: ['ops'],
      traceUrlTemplate: 'http://jaeger.test/trace/{traceId}',
      ...over,
    };
  }

  it("shows a tenant its own traffic, spend, budgets and failures, and nothing platform-wide", async () => {
    const view = await new OpsOverviewBuilder(sources()).build('dev', 900, NOW);
    assert.deepEqual(view.tenants, ['dev']);
    assert.equal(view.traffic.find((s) => s.executionModel === 'stateless')!.points.reduce((n, p) => n + p.requests, 0), 1);
    assert.deepEqual(view.spend.map((s) => s.tenant), ['dev']);
    assert.deepEqual([view.queues, view.replicas, view.activity], [[], [], undefined]);
    const [burn] = view.budgets;
    assert.equal(burn!.burnMicroUsdPerHour, 4_000_000);
    assert.equal(burn!.exhaustedAt, new Date(NOW + 1.5 * 3_600_000).toISOString(), '6 USD left at 4 USD an hour');
    assert.equal(view.failures.length, 2);
    const [newest, older] = view.failures;
    assert.equal(newest!.at, '2026-11-27T09:59:00.000Z', 'newest first');
    assert.deepEqual(newest!.links, { audit: '/v1/audit/events?runId=ses_1%3A2', run: '/v1/ops/runs?tenant=dev&sessionId=ses_1' });
    assert.equal(older!.message, 'the model failed');
    assert.deepEqual([older!.at, older!.attempts, newest!.attempts], ['2026-11-27T09:58:00.000Z', 2, 1], 'two attempts of tsk_1: one line, the newest');
    assert.deepEqual(older!.links, {
      audit: `/v1/audit/events?traceId=${'a'.repeat(32)}`,
      trace: `http://jaeger.test/trace/${'a'.repeat(32)}`,
      run: '/v1/ops/runs?tenant=dev&taskId=tsk_1',
    });
    assert.deepEqual(view.warnings, []);
  });

  it('gives no exhaustion time when the budget resets first or nothing burns', async () => {
    const spend = new SpendWindow();
    const resetsSoon = await new OpsOverviewBuilder(sources({ budgets: async () => [budget({ resetsAt: new Date(NOW + 60_000).toISOString() })] })).build('dev', 900, NOW);
    assert.equal(resetsSoon.budgets[0]!.exhaustedAt, undefined);
    const idle = await new OpsOverviewBuilder(sources({ spend })).build('dev', 900, NOW);
    assert.deepEqual([idle.budgets[0]!.burnMicroUsdPerHour, idle.budgets[0]!.exhaustedAt], [0, undefined]);
  });

  it('shows an operator every tenant, the durable consumers and every replica that answers', async () => {
    await provisionConsumer(nc, Consumers.taskWorker);
    await nc.jetstream().publish('keelson.tasks.dev.assistant', encodeJson({ input: 'x' }));
    const replica = nc.subscribe(OpsSubjects.stats, {
      callback: (_err, msg) =>
        msg.respond(encodeJson({ service: 'task-worker', instance: 'host:1', startedAt: new Date(NOW).toISOString(), rssBytes: 1_000, taskRunsRunning: 3 })),
    });
    const garbage = nc.subscribe(OpsSubjects.stats, { callback: (_err, msg) => msg.respond(new TextEncoder().encode('not json')) });
    try {
      const view = await new OpsOverviewBuilder(sources({ operatorTenants: ['dev'] })).build('dev', 900, NOW);
      assert.equal(view.tenants, 'all');
      assert.deepEqual(view.spend.map((s) => s.tenant).sort(), ['acme', 'dev']);
      assert.deepEqual(new Set(view.failures.map((f) => f.tenant)), new Set(['acme', 'dev']));
      const queue = view.queues.find((q) => q.consumer === Consumers.taskWorker.durable);
      assert.equal(queue?.pending, 1, JSON.stringify(view.queues));
      assert.deepEqual(view.replicas.map((r) => r.instance), ['host:1'], 'a reply that is not stats is left out');
      assert.deepEqual(view.activity, { sessionsActive: 0, turnsRunning: 0, taskRunsRunning: 3 });
    } finally {
      replica.unsubscribe();
      garbage.unsubscribe();
    }
  });

  it('draws the rest and says what failed when a source is down', async () => {
    const down = async () => {
      throw new Error('audit-service is not running; try again shortly');
    };
    const view = await new OpsOverviewBuilder(sources({ failedRuns: down, budgets: down })).build('dev', 900, NOW);
    assert.deepEqual(view.failures, []);
    assert.deepEqual(view.warnings.sort(), ['budgets of dev: audit-service is not running; try again shortly', 'failures of dev: audit-service is not running; try again shortly']);
    assert.equal(view.spend.length, 1);
  });
});
