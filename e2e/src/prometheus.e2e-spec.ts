import { strict as assert } from 'node:assert';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { accessSync, constants, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Streams, Subjects, taskMsgId } from '@keelson/contracts';
import { findRepoRoot, freePort, waitFor } from '@keelson/testing';
import { headers as natsHeaders, JSONCodec } from 'nats';
import { parse as parseYaml, stringify as toYaml } from 'yaml';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';

/*
 * deploy/observability/ loaded in a real Prometheus (2.42, Debian's `prometheus` package) scraping the real
 * mesh: promtool accepts the rules and the config, every service is scraped, every rule evaluates without
 * an error, the recording rules and the dashboards' key panels have data after a little load, every PromQL
 * expression of every Grafana panel is accepted, and no alert is pending or firing on a healthy mesh.
 */

const run = promisify(execFile);
const ROOT = findRepoRoot();
const OBS = join(ROOT, 'deploy/observability');
const SHIPPED_CONFIG = join(OBS, 'prometheus/prometheus.yml');
const RULES = join(OBS, 'prometheus/alerts.yml');
const DASHBOARDS = join(OBS, 'grafana/dashboards');
const INSTALL_HINT = 'Install it with: apt-get install -y --no-install-recommends prometheus';

function binary(name: string): string {
  const dirs = [...(process.env['PATH'] ?? '').split(delimiter).filter(Boolean), '/usr/bin', '/usr/local/bin'];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // keep looking
    }
  }
  throw new Error(`${name} not found on PATH nor in /usr/bin, /usr/local/bin. ${INSTALL_HINT}`);
}

/** The service a mesh app belongs to: 'task-worker-1' -> 'task-worker'. */
const serviceOf = (app: string) => app.replace(/-\d+$/, '');

interface PromRule {
  name: string;
  query: string;
  type: 'recording' | 'alerting';
  health: string;
  lastError?: string;
  lastEvaluation: string;
  state?: string;
}
interface PromGroup {
  name: string;
  file: string;
  interval: number;
  rules: PromRule[];
}

/** A rule Prometheus has evaluated: its lastEvaluation is not Go's zero time. */
const evaluated = (r: { lastEvaluation: string }) => !r.lastEvaluation.startsWith('0001-');

/** Every PromQL expression of a dashboard, with the panel that holds it (rows' nested panels included). */
function dashboardExprs(file: string): { dashboard: string; panel: string; expr: string }[] {
  const dashboard = JSON.parse(readFileSync(join(DASHBOARDS, file), 'utf8'));
  const out: { dashboard: string; panel: string; expr: string }[] = [];
  const walk = (panels: any[] = []) => {
    for (const p of panels) {
      walk(p.panels);
      for (const t of p.targets ?? []) if (typeof t.expr === 'string' && t.expr.trim()) out.push({ dashboard: file, panel: p.title, expr: t.expr });
    }
  };
  walk(dashboard.panels);
  return out.map((e) => ({ ...e, expr: substitute(e.expr, dashboard.templating?.list ?? []) }));
}

/**
 * Grafana's variables replaced the way Grafana would with "All" selected: a query variable becomes its
 * allValue (`.*`, used with `=~`), the interval variables become 1m and $__range 5m.
 */
function substitute(expr: string, variables: any[]): string {
  const values = new Map<string, string>([
    ['__rate_interval', '1m'],
    ['__interval', '1m'],
    ['__range', '5m'],
    ['__range_s', '300'],
    ['__range_ms', '300000'],
    ['__interval_ms', '60000'],
  ]);
  for (const v of variables) {
    if (v.type === 'datasource') continue;
    assert.ok(v.includeAll && v.allValue, `variable $${v.name}: the check assumes "All" with an allValue; got ${JSON.stringify(v)}`);
    values.set(v.name, v.allValue);
  }
  const replaced = expr.replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (whole, a, b, c) => {
    const name = a ?? b ?? c;
    if (/^\d+$/.test(name)) return whole; // $1 in a label_replace replacement
    const value = values.get(name);
    assert.ok(value !== undefined, `unknown Grafana variable ${whole} in: ${expr}`);
    return value;
  });
  return replaced;
}

describe('deploy/observability in a real Prometheus scraping the mesh', () => {
  let prometheusBin: string;
  let promtool: string;
  let mesh: Mesh;
  let dir: string;
  let prom: ChildProcess | undefined;
  const promLogs: string[] = [];
  let promUrl: string;
  /** Unix seconds just after every target's first scrape following the load: when the rate panels are read. */
  let scrapedAfterLoad: number;

  const promGet = async (path: string): Promise<any> => {
    const res = await fetch(`${promUrl}${path}`);
    const body = (await res.json()) as any;
    if (body.status !== 'success') throw new Error(`${path}: ${res.status} ${body.errorType}: ${body.error}`);
    return body.data;
  };
  /** An instant query, at `time` (Unix seconds) when given, else now. */
  const query = async (expr: string, time?: number): Promise<{ status: string; error?: string; result: any[] }> => {
    const at = time === undefined ? '' : `&time=${time}`;
    const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}${at}`);
    const body = (await res.json()) as any;
    return { status: body.status, error: body.error, result: body.data?.result ?? [] };
  };
  const rules = async (): Promise<PromGroup[]> => (await promGet('/api/v1/rules')).groups;
  const promTail = () => promLogs.slice(-30).join('\n');

  before(async () => {
    prometheusBin = binary('prometheus');
    promtool = binary('promtool');
    dir = mkdtempSync(join(tmpdir(), 'keelson-e2e-prometheus-'));
    mesh = await startMesh();

    // The shipped config with only what must differ here: the mesh's free ports instead of 8080-8085, 1 s
    // scrape and evaluation intervals, and the repo's alerts.yml by absolute path. Jobs, honor_labels,
    // metrics_path, relabelling and each target's `service` label are the shipped ones.
    const shipped = parseYaml(readFileSync(SHIPPED_CONFIG, 'utf8'));
    const scrapeConfigs = shipped.scrape_configs.map((job: any) => {
      const { static_configs: staticConfigs, ...rest } = job;
      return {
        ...rest,
        scrape_interval: '1s',
        scrape_timeout: '1s',
        static_configs: (staticConfigs ?? []).map((sc: any) => ({
          labels: sc.labels,
          targets: [...mesh.ports]
            .filter(([app]) => serviceOf(app) === sc.labels?.service)
            .map(([, port]) => `127.0.0.1:${port}`),
        })),
      };
    });
    const listed = scrapeConfigs.flatMap((j: any) => j.static_configs.map((sc: any) => sc.labels?.service));
    const unlisted = [...mesh.ports.keys()].filter((app) => !listed.includes(serviceOf(app)));
    assert.deepEqual(unlisted, [], 'every service of the mesh has a target in the shipped prometheus.yml');
    const config = {
      global: { ...shipped.global, scrape_interval: '1s', scrape_timeout: '1s', evaluation_interval: '1s' },
      rule_files: [RULES],
      scrape_configs: scrapeConfigs,
    };
    writeFileSync(join(dir, 'prometheus.yml'), toYaml(config));

    const port = await freePort();
    promUrl = `http://127.0.0.1:${port}`;
    prom = spawn(
      prometheusBin,
      [
        `--config.file=${join(dir, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(dir, 'data')}`,
        `--web.listen-address=127.0.0.1:${port}`,
        '--web.enable-lifecycle',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [prom.stdout!, prom.stderr!]) {
      stream.setEncoding('utf8');
      stream.on('data', (chunk: string) => promLogs.push(...chunk.split('\n').filter(Boolean)));
    }
    let exited: string | undefined;
    prom.once('exit', (code, signal) => (exited = `prometheus exited (code ${code}, signal ${signal})`));
    try {
      await waitFor(
        async () => {
          if (exited) throw new Error(exited);
          return (await fetch(`${promUrl}/-/ready`)).ok;
        },
        { description: 'prometheus to be ready', timeoutMs: 30_000, intervalMs: 100 },
      );
    } catch (err) {
      throw new Error(`${(err as Error).message}\nprometheus log:\n${promTail()}`);
    }

    // Prometheus applies discovered targets on a 5 s tick: wait until every app is being scraped, so that
    // the load below shows up as rates rather than as counters that were already there at the first scrape.
    const apps = mesh.ports.size;
    await waitFor(
      async () => {
        const active: any[] = (await promGet('/api/v1/targets?state=active')).activeTargets;
        return active.length === apps && active.every((t) => t.health === 'up');
      },
      { description: `all ${apps} targets up`, timeoutMs: 20_000, intervalMs: 250 },
    ).catch(async (err) => {
      const active: any[] = (await promGet('/api/v1/targets')).activeTargets;
      throw new Error(`${err.message}\n${active.map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`).join('\n')}`);
    });

    // A little clean load, scraped as it happens (1 s): stateless invokes, a task, a session with two turns.
    const api = client(mesh.base);
    const round = async (invokes: number, turns: string[]) => {
      for (let i = 0; i < invokes; i++) {
        const res = await api.post('/v1/agents/assistant/invoke', { input: `hello ${i}` });
        assert.equal(res.status, 200, JSON.stringify(res.body));
      }
      const task = await api.post('/v1/tasks', { agentId: 'assistant', input: 'hi' });
      assert.equal(task.status, 202, JSON.stringify(task.body));
      const session = await api.post('/v1/sessions', { agentId: 'assistant' });
      assert.equal(session.status, 201, JSON.stringify(session.body));
      for (const content of turns) {
        const turn = await api.post(`/v1/sessions/${session.body.sessionId}/messages`, { content });
        assert.equal(turn.status, 200, JSON.stringify(turn.body));
      }
      await waitFor(
        async () => ((await api.get(`/v1/tasks/${task.body.taskId}`)).body.status === 'succeeded' ? true : undefined),
        { description: `task ${task.body.taskId} to succeed`, timeoutMs: 30_000 },
      );
    };
    // A counter's series appears with its first increment, and rate() has no sample before it: a first round
    // creates the series and lets Prometheus scrape them, so the second round's requests show up as rates.
    const scrapedSince = (since: number, what: string) =>
      waitFor(async () => Number((await query('min(timestamp(up{job="keelson"}))')).result[0]?.value[1]) > since, {
        description: `a scrape of every target after ${what}`,
        timeoutMs: 10_000,
        intervalMs: 100,
      });
    await round(1, ['hello']);
    await scrapedSince(Date.now() / 1000, 'the first round');
    await round(5, ['hello, my favourite colour is teal', 'what did I say?']);
    await scrapedSince(Date.now() / 1000, 'the load');
    scrapedAfterLoad = Date.now() / 1000;
  });

  after(async () => {
    if (prom && prom.exitCode === null && prom.signalCode === null) {
      const gone = new Promise((resolve) => prom!.once('exit', resolve));
      prom.kill('SIGTERM');
      const killed = await Promise.race([gone.then(() => true), new Promise((r) => setTimeout(() => r(false), 5_000))]);
      if (!killed) {
        prom.kill('SIGKILL');
        await gone;
      }
    }
    await mesh?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('promtool accepts alerts.yml, the shipped prometheus.yml and the generated one', async () => {
    const rulesOut = await run(promtool, ['check', 'rules', RULES]);
    assert.match(rulesOut.stdout, /SUCCESS: \d+ rules found/);
    // The shipped config names `alerts.yml` relative to itself, which promtool resolves in place: no copy needed.
    const shippedOut = await run(promtool, ['check', 'config', SHIPPED_CONFIG]);
    assert.match(shippedOut.stdout, /is valid prometheus config file syntax/);
    await run(promtool, ['check', 'config', join(dir, 'prometheus.yml')]);
  });

  it('scrapes every service of the mesh: every target is up, labelled with its service', async (ctx) => {
    const expected = [...mesh.ports].map(([app, port]) => ({ app, instance: `127.0.0.1:${port}` }));
    const targets: any[] = (await promGet('/api/v1/targets?state=active')).activeTargets;
    assert.equal(targets.length, expected.length, 'one target per app of the mesh');
    assert.deepEqual(
      targets.filter((t) => t.health !== 'up').map((t) => `${t.scrapeUrl} ${t.health} ${t.lastError}`),
      [],
      'targets not up',
    );
    for (const { app, instance } of expected) {
      const target = targets.find((t) => t.labels.instance === instance);
      assert.ok(target, `a target for ${app} at ${instance}`);
      assert.equal(target.labels.service, serviceOf(app), `${app}'s target carries service="${serviceOf(app)}"`);
      assert.equal(target.scrapePool, 'keelson');
    }
    ctx.diagnostic(`${targets.length} targets up: ${targets.map((t) => t.labels.service).join(', ')}`);
    // honor_labels: the services' own `service` label and the target's agree, so `up` and every series match.
    const mismatched = await query('count by (service) (keelson_process_resident_memory_bytes) unless on (service) up');
    assert.deepEqual(mismatched.result, [], 'every service label on series also names a target');
  });

  it('loads every rule group and evaluates every rule without an error', async (ctx) => {
    const file = parseYaml(readFileSync(RULES, 'utf8'));
    const expectedRules = file.groups.reduce((n: number, g: any) => n + g.rules.length, 0);
    const groups = await waitFor(
      async () => {
        const gs = await rules();
        return gs.flatMap((g) => g.rules).every(evaluated) ? gs : undefined;
      },
      // The slowest group (keelson-recording-cost) evaluates once a minute, at an offset fixed by its name.
      { description: 'every rule evaluated at least once', timeoutMs: 75_000, intervalMs: 500 },
    );
    assert.deepEqual(groups.map((g) => g.name).sort(), file.groups.map((g: any) => g.name).sort());
    const all = groups.flatMap((g) => g.rules.map((r) => ({ group: g.name, ...r })));
    assert.equal(all.length, expectedRules);
    const broken = all.filter((r) => r.health !== 'ok' || r.lastError);
    assert.deepEqual(
      broken.map((r) => `${r.group}/${r.name}: ${r.health} ${r.lastError}`),
      [],
      'rules whose evaluation failed',
    );
    ctx.diagnostic(
      `${groups.length} groups, ${all.length} rules (${all.filter((r) => r.type === 'recording').length} recording, ` +
        `${all.filter((r) => r.type === 'alerting').length} alerting), all health ok`,
    );
  });

  it('records the HTTP, model token and cost, and JetStream series the load makes possible', async (ctx) => {
    // Without specific traffic there is no series to record: no 5xx answer (ratio_5xx has no numerator),
    // no redelivery. Their health is checked above.
    const needsTraffic = new Set([
      'service:keelson_http_request_duration_seconds_count:ratio_5xx_rate5m',
      'stream_consumer:keelson_jetstream_redeliveries:rate5m',
    ]);
    const recording = (await rules()).flatMap((g) => g.rules).filter((r) => r.type === 'recording');
    const expected = recording.map((r) => r.name).filter((name) => !needsTraffic.has(name));
    for (const name of [
      'route_execution_model:keelson_http_request_duration_seconds:p99_5m',
      'execution_model:keelson_http_request_duration_seconds_count:rate5m',
      'tenant:keelson_model_cost_usd:rate5m',
      'tenant:keelson_model_cost_usd:increase1h',
      'tenant_model_direction:keelson_model_tokens:rate5m',
    ]) {
      assert.ok(expected.includes(name), `alerts.yml records ${name}`);
    }
    const empty = new Set(expected);
    await waitFor(
      async () => {
        for (const name of [...empty]) if ((await query(name)).result.length > 0) empty.delete(name);
        return empty.size === 0;
      },
      // Each group's next evaluation after the load: at most its interval (1 m for the cost group).
      { description: 'a series for every recording rule', timeoutMs: 75_000, intervalMs: 500 },
    ).catch((err) => {
      throw new Error(`${err.message}\nrecording rules without a series: ${[...empty].join(', ')}`);
    });
    // The load ran as the dev tenant, whose tokens and execution models must be there.
    const tokens = await query('tenant_model_direction:keelson_model_tokens:rate5m{tenant="dev"}');
    assert.deepEqual([...new Set(tokens.result.map((s) => s.metric.direction))].sort(), ['cached_input', 'input', 'output']);
    const models = await query('execution_model:keelson_http_request_duration_seconds_count:rate5m');
    const seen = models.result.map((s) => s.metric.execution_model);
    for (const m of ['stateless', 'session', 'task']) assert.ok(seen.includes(m), `rate recorded for ${m}: ${seen.join(', ')}`);
    ctx.diagnostic(`${expected.length} of ${recording.length} recording rules have series; health only: ${[...needsTraffic].join(', ')}`);
  });

  it('every PromQL expression of every Grafana panel evaluates, and the key panels have data', async (ctx) => {
    const files = readdirSync(DASHBOARDS).filter((f) => f.endsWith('.json'));
    const exprs = files.flatMap(dashboardExprs);
    const failures: string[] = [];
    for (const e of exprs) {
      const res = await query(e.expr);
      if (res.status !== 'success') failures.push(`${e.dashboard} "${e.panel}": ${res.error}\n  ${e.expr}`);
    }
    assert.deepEqual(failures, [], 'panel queries Prometheus refuses');
    ctx.diagnostic(`${exprs.length} panel expressions in ${files.length} dashboards evaluate`);

    const panel = (title: string, match?: RegExp) => {
      const e = exprs.find((x) => x.panel === title && (!match || match.test(x.expr)));
      assert.ok(e, `a panel "${title}"`);
      return e.expr;
    };
    // The rate panels ($__rate_interval = 1m) are evaluated just after the load, so that the other tests'
    // waits (up to a minute for a rule group) cannot slide the load out of their window.
    const at = scrapedAfterLoad;
    for (const expr of [
      panel('Requests / s'),
      panel('Throughput per execution model'),
      panel('Latency p50 / p95 / p99', /0\.99/),
      panel('Tokens / s per tenant and model'),
    ]) {
      const res = await query(expr, at);
      assert.ok(res.result.length > 0, `data for ${expr} at the end of the load`);
    }
    const throughput = await query(panel('Throughput per execution model'), at);
    const stateless = throughput.result.find((s) => s.metric.execution_model === 'stateless');
    assert.ok(stateless && Number(stateless.value[1]) > 0, `stateless throughput above 0: ${JSON.stringify(throughput.result)}`);
    const p99 = await query(panel('Latency p50 / p95 / p99', /0\.99/), at);
    assert.ok(Number.isFinite(Number(p99.result[0].value[1])), `a p99 latency: ${JSON.stringify(p99.result)}`);
    // The cost panel reads a recording rule of the 1-minute group: wait for its evaluation after the load.
    const cost = panel('Cost per tenant (USD per hour)');
    const costSeries = await waitFor(async () => (await query(cost)).result.find((s) => s.metric.tenant === 'dev'), {
      description: `data for ${cost}`,
      timeoutMs: 75_000,
      intervalMs: 500,
    });
    ctx.diagnostic(`cost per tenant, dev: ${costSeries.value[1]} USD/h; stateless ${stateless.value[1]} req/s; p99 ${p99.result[0].value[1]} s`);
  });

  it('no alert is pending or firing after the clean load', async (ctx) => {
    // Alerting groups evaluate every second here; the recording rules they read are checked above.
    const groups = await rules();
    const alerting = groups.flatMap((g) => g.rules).filter((r) => r.type === 'alerting');
    assert.ok(alerting.every(evaluated), 'every alert rule evaluated');
    const alerts: any[] = (await promGet('/api/v1/alerts')).alerts;
    assert.deepEqual(
      alerts.map((a) => `${a.labels.alertname} ${a.state} ${JSON.stringify(a.labels)} value=${a.value}`),
      [],
      'active alerts on a healthy mesh',
    );
    ctx.diagnostic(`${alerting.length} alert rules, none pending or firing`);
  });

  it('KeelsonDeadLetters goes pending on the first dead letter a replica ever counts', async () => {
    // The counter's series is born with that dead letter (value 1): increase() alone sees no increase in it.
    const h = natsHeaders();
    h.set('Nats-Msg-Id', taskMsgId('dev', 'prometheus-malformed-1'));
    await mesh.nc.jetstream().publish(Subjects.task('dev', 'assistant'), JSONCodec().encode({ input: 42 }), { headers: h });
    const stream = Streams.tasks.name;
    await waitFor(async () => (await query(`keelson_jetstream_dead_letters_total{stream="${stream}"}`)).result.length > 0, {
      description: `keelson_jetstream_dead_letters_total{stream="${stream}"} scraped`,
      timeoutMs: 20_000,
      intervalMs: 250,
    });
    const alert = await waitFor(
      async () => {
        const alerts: any[] = (await promGet('/api/v1/alerts')).alerts;
        return alerts.find((a) => a.labels.alertname === 'KeelsonDeadLetters' && a.labels.stream === stream);
      },
      { description: `KeelsonDeadLetters pending for ${stream}`, timeoutMs: 10_000, intervalMs: 250 },
    );
    assert.equal(alert.state, 'pending', 'for: 1m, so pending first');
    assert.equal(Number(alert.value), 1, 'one message dead-lettered');
    // The overview dashboard counts it too.
    const panel = dashboardExprs('keelson-overview.json').find((e) => e.panel === 'Dead letters in range per stream');
    assert.ok(panel, 'a panel "Dead letters in range per stream"');
    const inRange = await query(panel.expr);
    // Every consumer's series starts at 0 (consumer-metrics.ts), so the other streams show 0, not nothing.
    assert.deepEqual(
      inRange.result.map((r) => [r.metric.stream, Number(r.value[1])]).filter(([, n]) => n !== 0),
      [[stream, 1]],
      `${panel.expr}: ${JSON.stringify(inRange.result)}`,
    );
  });
});
