import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Metrics } from './catalogue';
import { labelValue, MAX_LABEL_LENGTH, MAX_SERIES, metricsRegistry, MetricsRegistry, PROCESS_METRICS_PREFIX } from './registry';

const quiet = () => new MetricsRegistry({ processMetrics: false });

describe('MetricsRegistry', () => {
  it('builds a metric from the catalogue on first use, with its name, help and type, and no other', async () => {
    const registry = quiet();
    assert.equal((await registry.metrics()).trim(), '', 'nothing is exported before anything is recorded');
    registry.counter('modelCalls').inc({ tenant: 'acme', agent: 'support', provider: 'openai', model: 'gpt-4o', status: 'completed' });
    const text = await registry.metrics();
    assert.match(text, new RegExp(`# HELP ${Metrics.modelCalls.name} `));
    assert.match(text, new RegExp(`# TYPE ${Metrics.modelCalls.name} counter`));
    assert.match(text, /keelson_model_calls_total\{tenant="acme",agent="support",provider="openai",model="gpt-4o",status="completed"\} 1/);
    assert.doesNotMatch(text, /keelson_model_tokens_total/);
  });

  it('returns the same metric for the same key, so increments add up', async () => {
    const registry = quiet();
    registry.counter('auditEvents').inc({ outcome: 'stored' });
    registry.counter('auditEvents').inc({ outcome: 'stored' }, 2);
    assert.match(await registry.metrics(), /keelson_audit_events_total\{outcome="stored"\} 3/);
  });

  it('records histograms with the catalogue buckets, and gauges that go up and down', async () => {
    const registry = quiet();
    registry.histogram('memoryRecallDuration').observe({ outcome: 'ok' }, 0.003);
    registry.gauge('turnsRunning').inc();
    registry.gauge('turnsRunning').inc();
    registry.gauge('turnsRunning').dec();
    registry.gauge('consumerPending').set({ stream: 'KEELSON_TASKS', consumer: 'task-worker' }, 7);
    const text = await registry.metrics();
    assert.match(text, /keelson_memory_recall_duration_seconds_bucket\{le="0.0025",outcome="ok"\} 0/);
    assert.match(text, /keelson_memory_recall_duration_seconds_bucket\{le="0.005",outcome="ok"\} 1/);
    assert.match(text, /keelson_memory_recall_duration_seconds_count\{outcome="ok"\} 1/);
    assert.match(text, /keelson_session_turns_running 1/);
    assert.match(text, /keelson_jetstream_consumer_pending_messages\{stream="KEELSON_TASKS",consumer="task-worker"\} 7/);
  });

  it('adds the default labels, e.g. the service, to every series', async () => {
    const registry = quiet();
    registry.defaultLabels({ service: 'gateway' });
    registry.counter('auditEvents').inc({ outcome: 'stored' });
    assert.match(await registry.metrics(), /keelson_audit_events_total\{outcome="stored",service="gateway"\} 1/);
  });

  it('exports the process metrics with the keelson_ prefix', async () => {
    const text = await new MetricsRegistry().metrics();
    assert.match(text, new RegExp(`^${PROCESS_METRICS_PREFIX}process_cpu_user_seconds_total`, 'm'));
    assert.match(text, new RegExp(`^${PROCESS_METRICS_PREFIX}nodejs_heap_size_used_bytes`, 'm'));
    assert.doesNotMatch(text, /^process_cpu/m, 'no unprefixed process metrics');
  });

  it('bounds label values: missing is unknown, oversized is other, unknown label names are dropped', async () => {
    assert.equal(labelValue(undefined), 'unknown');
    assert.equal(labelValue(''), 'unknown');
    assert.equal(labelValue(404), '404');
    assert.equal(labelValue('x'.repeat(MAX_LABEL_LENGTH + 1)), 'other');
    const registry = quiet();
    registry.counter('httpErrors').inc({ route: 'y'.repeat(500), status: 500 } as never);
    registry.counter('httpErrors').inc({ route: '/v1/tasks/:id', status: 404, code: 'not_found', sessionId: 's_1' } as never);
    const text = await registry.metrics();
    assert.match(text, /keelson_http_errors_total\{route="other",status="500",code="unknown"\} 1/);
    assert.match(text, /keelson_http_errors_total\{route="\/v1\/tasks\/:id",status="404",code="not_found"\} 1/);
    assert.doesNotMatch(text, /sessionId/);
  });

  it('folds label sets beyond MAX_SERIES into one "other" series', async () => {
    const registry = quiet();
    for (let i = 0; i < MAX_SERIES + 5; i++) registry.counter('auditEvents').inc({ outcome: `o${i}` });
    const text = await registry.metrics();
    assert.equal(text.split('\n').filter((l) => l.startsWith('keelson_audit_events_total{')).length, MAX_SERIES + 1);
    assert.match(text, /keelson_audit_events_total\{outcome="other"\} 5/);
  });

  it('runs collectors before a scrape, and a failing one does not fail the scrape', async () => {
    const registry = quiet();
    let pending = 0;
    registry.onCollect(async () => registry.gauge('consumerPending').set({ stream: 'S', consumer: 'c' }, ++pending));
    const remove = registry.onCollect(() => {
      throw new Error('NATS is down');
    });
    assert.match(await registry.metrics(), /keelson_jetstream_consumer_pending_messages\{stream="S",consumer="c"\} 1/);
    remove();
    assert.match(await registry.metrics(), /keelson_jetstream_consumer_pending_messages\{stream="S",consumer="c"\} 2/);
  });

  it('has one process-wide registry', () => {
    assert.equal(metricsRegistry(), metricsRegistry());
  });
});
