import { strict as assert } from 'node:assert';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '@keelson/testing';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { client } from './support/http';
import { API_KEY, startMesh, type Mesh } from './support/mesh';

const CHROMIUM = '/usr/bin/chromium';
const TRACE_TEMPLATE = 'http://traces.example.test/trace/{traceId}';
/** Without the background-networking flags Chromium dials out at start, which this closed network refuses. */
const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
/** The page polls every 5 s and the failures come from the audit trail, which lags a little: room for a few polls. */
const PAGE_WAIT_MS = 30_000;

/** What the page exposes as window.keelsonCharts, seen from the test: each chart's labels and series. */
interface ChartData {
  labels: string[];
  datasets: { label: string; data: (number | null)[] }[];
}

/**
 * The operator dashboard in a real headless Chromium against the whole mesh: sign-in, the overview's charts
 * drawn from real traffic, a failed task found in the failures list and opened in the run viewer, a
 * successful task replayed, and nothing fetched from anywhere but the gateway.
 */
describe('operator dashboard', () => {
  let mesh: Mesh;
  let api: ReturnType<typeof client>;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const requested: string[] = [];
  let okTask: { taskId: string; output: string };
  let failedTaskId: string;

  async function taskDone(taskId: string, status: 'succeeded' | 'failed'): Promise<any> {
    return waitFor(
      async () => {
        const view = await api.get(`/v1/tasks/${taskId}`);
        return view.body?.status === status ? view.body : undefined;
      },
      { description: `task ${taskId} to be ${status}`, timeoutMs: 90_000, intervalMs: 250 },
    );
  }

  /** The data of the dashboard's chart `name`, as Chart.js holds it. */
  function chartData(name: string): Promise<ChartData> {
    return page.evaluate((n) => {
      const chart = (globalThis as any).keelsonCharts[n];
      return { labels: [...chart.data.labels], datasets: chart.data.datasets.map((d: any) => ({ label: d.label, data: [...d.data] })) };
    }, name);
  }

  const total = (data: ChartData) => data.datasets.reduce((sum, d) => sum + d.data.reduce<number>((s, v) => s + (v ?? 0), 0), 0);

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: run tools/scripts/ensure-deps.sh as root, or apt-get install chromium`);
    mesh = await startMesh({ env: { OPS_OPERATOR_TENANTS: 'dev', TRACE_URL_TEMPLATE: TRACE_TEMPLATE } });
    api = client(mesh.base);

    // Traffic of every execution model, one task that succeeds and one that fails.
    for (const input of ['hello', 'hello again', 'and once more']) {
      const res = await api.post('/v1/agents/assistant/invoke', { input });
      assert.equal(res.status, 200, JSON.stringify(res.body));
    }
    const session = await api.post('/v1/sessions', { agentId: 'assistant' });
    assert.equal(session.status, 201, JSON.stringify(session.body));
    const turn = await api.post(`/v1/sessions/${session.body.sessionId}/messages`, { content: 'hello from a session' });
    assert.equal(turn.status, 200, JSON.stringify(turn.body));
    const ok = await api.post('/v1/tasks', { agentId: 'assistant', input: 'summarise the dashboard' });
    assert.equal(ok.status, 202, JSON.stringify(ok.body));
    const failing = await api.post('/v1/tasks', { agentId: 'assistant', input: '__fail__' });
    assert.equal(failing.status, 202, JSON.stringify(failing.body));
    failedTaskId = failing.body.taskId;
    const done = await taskDone(ok.body.taskId, 'succeeded');
    okTask = { taskId: ok.body.taskId, output: done.result.output };
    await taskDone(failedTaskId, 'failed');

    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.on('request', (request) => requested.push(request.url()));
  });

  after(async () => {
    await browser?.close().catch(() => undefined);
    await mesh?.stop();
  });

  it('serves the page without a key but no data: the overview answers 401 without one', async () => {
    const html = await fetch(`${mesh.base}/dashboard`);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    assert.match(await html.text(), /id="api-key"/);
    for (const file of ['app.js', 'app.css', 'vendor/chart.umd.js']) {
      const res = await fetch(`${mesh.base}/dashboard/${file}`);
      // Read every body: an unread one holds its connection open and the gateway waits for it at shutdown.
      const body = await res.text();
      assert.equal(res.status, 200, `GET /dashboard/${file}`);
      assert.ok(body.length > 0, `GET /dashboard/${file} has a body`);
      assert.match(res.headers.get('content-type') ?? '', file.endsWith('.css') ? /text\/css/ : /javascript/, `content type of ${file}`);
    }
    const overview = await client(mesh.base, null).get('/v1/ops/overview');
    assert.equal(overview.status, 401, JSON.stringify(overview.body));
    assert.ok(overview.body.error?.code, `an error body, got ${JSON.stringify(overview.body)}`);
  });

  it('keeps a wrong key at the sign-in form with the 401 message', async () => {
    const other = await browser.newContext();
    try {
      const p = await other.newPage();
      await p.goto(`${mesh.base}/dashboard`);
      await p.fill('#api-key', 'ks_not_a_key');
      await p.click('#sign-in-submit');
      const error = p.locator('#sign-in-error');
      await error.waitFor({ state: 'visible', timeout: PAGE_WAIT_MS });
      assert.ok((await error.textContent())!.trim().length > 0, 'the sign-in error says why');
      assert.equal(await p.isVisible('#sign-in'), true);
      assert.equal(await p.isVisible('#dashboard'), false);
      assert.equal(await p.evaluate(() => (globalThis as any).document.body.dataset.loaded ?? null), null);
    } finally {
      await other.close();
    }
  });

  it('draws the overview of the mesh: charts with data, activity numbers and replicas', async () => {
    await page.goto(`${mesh.base}/dashboard`);
    await page.fill('#api-key', API_KEY);
    await page.click('#sign-in-submit');
    await page.waitForSelector('body[data-loaded="true"]', { timeout: PAGE_WAIT_MS });
    for (const name of ['throughput', 'latency', 'errors', 'spend', 'queues']) {
      assert.equal(await page.locator(`canvas#chart-${name}`).count(), 1, `canvas#chart-${name}`);
    }
    assert.ok(total(await chartData('throughput')) > 0, 'the throughput chart has requests');
    assert.ok(total(await chartData('latency')) > 0, 'the latency chart has percentiles');
    const requests = Number((await page.textContent('#stat-requests'))!.replace(/,/g, ''));
    assert.ok(requests >= 6, `requests in the window: expected at least the 6 this test made, got ${requests}`);
    // Spend comes from the usage stream (tokens: the offline model has no price); the page polls until it shows.
    await page.waitForFunction(
      () => (globalThis as any).keelsonCharts.spend.data.datasets.some((d: any) => d.data.some((v: number) => v > 0)),
      undefined,
      { timeout: PAGE_WAIT_MS },
    );
    const queues = await chartData('queues');
    assert.ok(queues.labels.length > 0, 'the queue chart lists the streams\' consumers');
    for (const id of ['stat-sessions-active', 'stat-turns-running', 'stat-task-runs-running']) {
      assert.match((await page.textContent(`#${id}`))!.trim(), /^\d+$/, `#${id} is a number`);
    }
    const services = await page.locator('#replicas tr td:first-child').allTextContents();
    for (const service of ['gateway', 'session-agent', 'task-worker']) assert.ok(services.includes(service), `${service} in ${services.join(', ')}`);
    assert.match((await page.textContent('#updated'))!, /updated \d\d:\d\d:\d\d/);
  });

  it('lists the failed task with its trace link, audit records and run', async () => {
    const failure = page.locator(`#failures .failure[data-task-id="${failedTaskId}"]`).first();
    await failure.waitFor({ timeout: PAGE_WAIT_MS });
    assert.match((await failure.textContent())!, /assistant/);

    const trace = failure.locator('a.open-trace');
    assert.match((await trace.getAttribute('href'))!, /^http:\/\/traces\.example\.test\/trace\/[0-9a-f]{32}$/);
    assert.equal(await trace.getAttribute('target'), '_blank');
    assert.match((await trace.getAttribute('rel'))!, /noopener/);

    await failure.locator('.open-audit').click();
    await page.locator('#audit-panel .audit-event').first().waitFor({ timeout: PAGE_WAIT_MS });
    const types = await page.locator('#audit-panel .audit-event').evaluateAll((rows) => rows.map((r: any) => r.dataset.type));
    assert.ok(types.some((t) => t.startsWith('task.')), `the trace's audit records, got ${types.join(', ')}`);
    assert.equal(page.url(), `${mesh.base}/dashboard`, 'the audit records open in the page');

    await failure.locator('.open-run').click();
    await page.locator('#run-viewer [data-step-name="run.failed"]').first().waitFor({ timeout: PAGE_WAIT_MS });
    assert.equal(await page.locator('#run-viewer [data-step-name="run.started"]').count() > 0, true, 'the run viewer shows run.started');
    assert.match((await page.textContent('#run-title'))!, new RegExp(failedTaskId));
  });

  it('opens a successful task by id and replays it to run.completed, the reply text rebuilt from its deltas', async () => {
    await page.fill('#run-tenant', 'dev');
    await page.selectOption('#run-kind', 'task');
    await page.fill('#run-id', okTask.taskId);
    await page.click('#run-open');
    await page.waitForSelector(`#run-viewer[data-state="loaded"] [data-step-name="run.completed"]`, { timeout: PAGE_WAIT_MS });
    assert.match((await page.textContent('#run-title'))!, new RegExp(okTask.taskId));

    await page.click('#run-replay');
    await page.waitForSelector('#run-viewer[data-replay="done"]', { timeout: PAGE_WAIT_MS });
    const names = await page.locator('#run-steps [data-step-name]').evaluateAll((steps) => steps.map((s: any) => s.dataset.stepName));
    assert.equal(names[0], 'run.started', names.join(', '));
    assert.equal(names.at(-1), 'run.completed', names.join(', '));
    assert.ok(names.includes('run.delta'), names.join(', '));
    assert.equal(await page.textContent('#run-reply'), okTask.output, 'the deltas add up to the task\'s output');

    const dir = mkdtempSync(join(tmpdir(), 'keelson-dashboard-'));
    await page.screenshot({ path: join(dir, 'dashboard.png'), fullPage: true });
    console.log(`dashboard screenshot: ${join(dir, 'dashboard.png')}`);
  });

  it('fetched nothing but the gateway', () => {
    assert.ok(requested.length > 0);
    const elsewhere = requested.filter((url) => !url.startsWith(`${mesh.base}/`));
    assert.deepEqual(elsewhere, [], 'every request of the page went to the gateway');
  });

  it('signs out back to the sign-in form and forgets the key', async () => {
    await page.click('#sign-out');
    await page.locator('#sign-in').waitFor({ state: 'visible', timeout: PAGE_WAIT_MS });
    assert.equal(await page.evaluate(() => (globalThis as any).sessionStorage.getItem('keelson.dashboard.apiKey')), null);
    assert.equal(await page.isVisible('#dashboard'), false);
  });
});
