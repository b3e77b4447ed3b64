// deploy/observability (alert rules, Grafana dashboards) against the metric catalogue. Run:
//   npx tsc -b libs/observability && node --test tools/observability-config.spec.mjs
// (`npm test` builds everything before the tools tests, so the catalogue is there.)
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import {
  checkDashboard,
  checkExpr,
  checkObservabilityConfig,
  checkRules,
  loadCatalogue,
  loadProcessMetrics,
} from './scripts/check-observability-config.mjs';

let known;
before(async () => {
  known = new Map([...(await loadProcessMetrics()), ...(await loadCatalogue())]);
});

const ALERT = (extra = '') => `
groups:
  - name: g
    rules:
      - alert: A
        expr: sum(rate(keelson_http_errors_total[5m])) > 1
        for: 5m
        labels: { severity: warning }
        annotations:
          summary: s
          description: d
          runbook_url: docs/operations.md#alerts
${extra}`;

describe('deploy/observability', () => {
  test('matches the metric catalogue, with every alert and recording rule well formed', async () => {
    assert.deepEqual(await checkObservabilityConfig(), []);
  });
});

describe('the checker', () => {
  test('names the file and the expression of a metric not in the catalogue', () => {
    const problems = checkExpr('alerts.yml (alert X)', 'rate(keelson_http_requests_total[5m]) > 0', { known, recorded: new Set() });
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^alerts\.yml \(alert X\): metric 'keelson_http_requests_total' is not in the catalogue/);
    assert.match(problems[0], /in: rate\(keelson_http_requests_total\[5m\]\) > 0$/);
  });

  test('accepts histogram series and prom-client defaults under keelson_', () => {
    const exprs = [
      'histogram_quantile(0.99, sum by (le) (rate(keelson_http_request_duration_seconds_bucket[5m])))',
      'rate(keelson_time_to_first_token_seconds_sum[5m]) / rate(keelson_time_to_first_token_seconds_count[5m])',
      'keelson_process_resident_memory_bytes > 1e9',
      'rate(keelson_process_cpu_seconds_total[5m])',
      'histogram_quantile(0.9, sum by (le) (rate(keelson_nodejs_gc_duration_seconds_bucket[5m])))',
      'keelson_nodejs_eventloop_lag_seconds',
    ];
    for (const e of exprs) assert.deepEqual(checkExpr('f', e, { known, recorded: new Set() }), [], e);
  });

  test('rejects _bucket on a counter, an unknown process metric and a label the metric does not have', () => {
    const opts = { known, recorded: new Set() };
    assert.equal(checkExpr('f', 'keelson_model_cost_usd_total_bucket', opts).length, 1);
    assert.equal(checkExpr('f', 'keelson_process_made_up_bytes', opts).length, 1);
    // prom-client's own names keep their process_ or nodejs_ part after the prefix.
    assert.equal(checkExpr('f', 'keelson_resident_memory_bytes', opts).length, 1);
    const [p] = checkExpr('f', 'sum(rate(keelson_model_cost_usd_total{tenant="a", session="s1"}[5m]))', opts);
    assert.match(p, /'keelson_model_cost_usd_total' has no label 'session'/);
    assert.deepEqual(checkExpr('f', 'keelson_model_cost_usd_total{service=~"x", tenant!="", instance=~".+"}', opts), []);
  });

  test('ignores names inside strings and comments, and flags unknown functions and unbalanced brackets', () => {
    const opts = { known, recorded: new Set() };
    assert.deepEqual(checkExpr('f', 'label_replace(vector(1), "m", "keelson_nope_total", "", "") # keelson_nope', opts), []);
    assert.match(checkExpr('f', 'sum(rate(keelson_http_errors_total[5m])', opts)[0], /unclosed '\('/);
    assert.match(checkExpr('f', 'sum(rate(keelson_http_errors_total[5m])))', opts)[0], /unbalanced '\)'/);
    assert.match(checkExpr('f', 'rates(keelson_http_errors_total[5m])', opts)[0], /unknown function 'rates'/);
  });

  test('requires a recorded series to be recorded', () => {
    const [p] = checkExpr('d.json (panel "P")', 'tenant:keelson_model_cost_usd:rate2h', { known, recorded: new Set() });
    assert.match(p, /'tenant:keelson_model_cost_usd:rate2h' is not recorded/);
  });

  test('reports an alert without for, severity, summary or runbook', () => {
    const text = ALERT(`      - alert: B
        expr: keelson_session_turns_running > 100
        labels: { team: x }
        annotations: { description: d }`);
    const { problems } = checkRules('alerts.yml', text, known);
    assert.deepEqual(problems, [
      "alerts.yml (alert B): no 'for'",
      'alerts.yml (alert B): severity label must be one of critical, warning, info',
      'alerts.yml (alert B): no summary annotation',
      'alerts.yml (alert B): runbook_url must point at docs/operations.md#alerts',
    ]);
  });

  test('checks recording-rule names follow level:metric:operations', () => {
    const text = ALERT(`      - record: cost_per_tenant
        expr: sum by (tenant) (rate(keelson_model_cost_usd_total[5m]))
      - record: tenant:keelson_spend:rate5m
        expr: sum by (tenant) (rate(keelson_model_cost_usd_total[5m]))
      - record: tenant:keelson_model_cost_usd:rate5m
        expr: sum by (tenant) (rate(keelson_model_cost_usd_total[5m]))`);
    const { problems, recorded } = checkRules('alerts.yml', text, known);
    assert.deepEqual(problems, [
      'alerts.yml (record cost_per_tenant): recording rule name must be level:metric:operations',
      "alerts.yml (record tenant:keelson_spend:rate5m): the metric part 'keelson_spend' of the name is not a catalogue metric (with _total dropped)",
    ]);
    assert.ok(recorded.has('tenant:keelson_model_cost_usd:rate5m'));
  });

  test('checks a dashboard: queries with Grafana variables, template variables and the required ones', () => {
    const dash = (expr, vars) =>
      JSON.stringify({
        uid: 'u',
        title: 't',
        schemaVersion: 39,
        templating: { list: vars },
        panels: [{ id: 1, type: 'timeseries', title: 'P', gridPos: {}, targets: [{ expr }] }],
      });
    const service = { name: 'service', type: 'query', query: { query: 'label_values(up{job="keelson"}, service)' } };
    const good = dash('sum by (tenant) (rate(keelson_model_tokens_total{tenant=~"$tenant"}[$__rate_interval]))', [service]);
    assert.deepEqual(checkDashboard('d.json', good, { known, recorded: new Set() }), []);

    const tenant = { name: 'tenant', type: 'query', query: 'label_values(keelson_tokens_total, tenant)' };
    const bad = dash('sum(rate(keelson_model_tokens_total{tenant=~"${tenant}"}[$__rate_interval])', [service, tenant]);
    const problems = checkDashboard('d.json', bad, { known, recorded: new Set(), requiredVariables: ['service', 'budget'] });
    assert.equal(problems.length, 3, problems.join('\n'));
    assert.match(problems[0], /^d\.json: no 'budget' templating variable/);
    assert.match(problems[1], /^d\.json \(panel "P"\): unclosed '\('/);
    assert.match(problems[2], /^d\.json \(variable tenant\): metric 'keelson_tokens_total' is not in the catalogue/);
  });
});
