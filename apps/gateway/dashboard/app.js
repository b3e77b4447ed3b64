// Keelson's operator dashboard: sign-in, the overview polled every 5 s, and the panels that draw it.
// Plain ES modules, no build step; everything comes from the gateway (no external network).

import { charts, createCharts, renderQueues, renderSpend, renderTraffic } from './charts.js';
import { initRuns } from './runs.js';
import { clip, clock, count, el, getJson, megabytes, replace, stamp, usd, when } from './util.js';

const POLL_MS = 5_000;
const KEY_STORAGE = 'keelson.dashboard.apiKey';
const WINDOW_STORAGE = 'keelson.dashboard.window';

const $ = (id) => document.getElementById(id);
const state = { key: sessionStorage.getItem(KEY_STORAGE), timer: undefined, generation: 0, last: {}, latencyModel: undefined };

createCharts();
const runs = initRuns({ getKey: () => state.key, onApiError: handleAuthError });

const windowSelect = $('window');
const savedWindow = sessionStorage.getItem(WINDOW_STORAGE);
if (savedWindow && [...windowSelect.options].some((o) => o.value === savedWindow)) windowSelect.value = savedWindow;

$('sign-in-form').addEventListener('submit', (event) => {
  event.preventDefault();
  const key = $('api-key').value.trim();
  if (!key) return;
  state.key = key;
  sessionStorage.setItem(KEY_STORAGE, key);
  $('api-key').value = '';
  start();
});
$('sign-out').addEventListener('click', () => signOut());
windowSelect.addEventListener('change', () => {
  sessionStorage.setItem(WINDOW_STORAGE, windowSelect.value);
  refresh();
});
$('latency-model').addEventListener('change', (event) => {
  state.latencyModel = event.target.value;
  if (state.overview) renderTraffic(state.overview, state.latencyModel);
});

if (state.key) start();
else showSignIn();

function showSignIn(message) {
  stopPolling();
  $('dashboard').hidden = true;
  $('controls').hidden = true;
  $('sign-in').hidden = false;
  $('sign-in-error').hidden = !message;
  replace($('sign-in-error'), message ?? '');
  $('api-key').focus();
}

function signOut(message) {
  state.key = null;
  state.overview = undefined;
  state.last = {};
  sessionStorage.removeItem(KEY_STORAGE);
  delete document.body.dataset.loaded;
  showSignIn(message);
}

/** 401 anywhere sends the operator back to sign in; true when it did. */
function handleAuthError(err) {
  if (err.status === 401) {
    signOut(`${state.overview ? 'Signed out' : 'Sign-in failed'}: ${err.message}`);
    return true;
  }
  return false;
}

function start() {
  $('sign-in').hidden = true;
  refresh();
}

function stopPolling() {
  clearTimeout(state.timer);
  state.timer = undefined;
  state.generation++;
}

/** Fetches the overview now, then every POLL_MS; a newer refresh (window change) supersedes an older one. */
async function refresh() {
  stopPolling();
  const generation = state.generation;
  try {
    const overview = await getJson(`/v1/ops/overview?window=${encodeURIComponent(windowSelect.value)}`, state.key);
    if (generation !== state.generation) return;
    render(overview);
    $('banner').hidden = true;
  } catch (err) {
    if (generation !== state.generation) return;
    if (handleAuthError(err)) return;
    const message = err.status === 403 ? `This key may not read the operations view: ${err.message}` : `Could not refresh: ${err.message}`;
    replace($('banner'), message);
    $('banner').hidden = false;
    $('dashboard').hidden = false;
    $('controls').hidden = false;
  }
  if (generation === state.generation && state.key) state.timer = setTimeout(refresh, POLL_MS);
}

function render(overview) {
  state.overview = overview;
  $('dashboard').hidden = false;
  $('controls').hidden = false;
  replace($('scope'), overview.tenants === 'all' ? 'all tenants' : `tenant ${overview.tenants.join(', ')}`);
  replace($('updated'), `updated ${clock(overview.generatedAt)}`);
  if (!$('run-tenant').value && overview.tenants !== 'all' && overview.tenants.length) $('run-tenant').value = overview.tenants[0];

  renderStats(overview);
  renderLatencyChoice(overview);
  renderTraffic(overview, state.latencyModel);
  const priced = renderSpend(overview);
  replace($('spend-note'), priced ? 'cost per tenant and model, USD' : 'tokens per tenant and model (no model in the window has a price)');
  renderQueues(overview);
  replace($('redelivered'), overview.queues.some((q) => q.redelivered > 0)
    ? `Redelivered: ${overview.queues.filter((q) => q.redelivered > 0).map((q) => `${q.stream}/${q.consumer} ${count(q.redelivered)}`).join(' · ')}`
    : 'No redeliveries.');
  once('budgets', overview.budgets, renderBudgets);
  once('replicas', overview.replicas, renderReplicas);
  once('failures', overview.failures, renderFailures);
  document.body.dataset.loaded = 'true';
}

/** Redraws a list only when its data changed, so a poll never pulls a button from under the pointer. */
function once(name, data, draw) {
  const key = JSON.stringify(data);
  if (state.last[name] === key) return;
  state.last[name] = key;
  draw(data);
}

function renderStats(overview) {
  let requests = 0;
  let errors = 0;
  for (const series of overview.traffic) {
    for (const p of series.points) {
      requests += p.requests;
      errors += p.errors;
    }
  }
  replace($('stat-requests'), count(requests));
  replace($('stat-errors'), count(errors));
  $('stat-errors').classList.toggle('bad', errors > 0);
  replace($('stat-sessions-active'), count(overview.activity.sessionsActive));
  replace($('stat-turns-running'), count(overview.activity.turnsRunning));
  replace($('stat-task-runs-running'), count(overview.activity.taskRunsRunning));
}

/** The latency chart shows one execution model; the busiest one until the operator picks another. */
function renderLatencyChoice(overview) {
  const requestsOf = (s) => s.points.reduce((sum, p) => sum + p.requests, 0);
  const models = overview.traffic.map((s) => s.executionModel);
  if (!models.includes(state.latencyModel)) {
    const busiest = [...overview.traffic].sort((a, b) => requestsOf(b) - requestsOf(a))[0];
    state.latencyModel = busiest?.executionModel;
  }
  const select = $('latency-model');
  if (select.dataset.models !== models.join(',')) {
    select.dataset.models = models.join(',');
    replace(select, ...models.map((m) => el('option', { value: m }, m)));
  }
  if (state.latencyModel) select.value = state.latencyModel;
}

function renderBudgets(budgets) {
  const list = $('budgets');
  if (!budgets.length) return replace(list, el('li', { className: 'muted' }, 'No budgets set.'));
  replace(
    list,
    ...budgets.map((b) => {
      const s = b.budget;
      const used = s.spentMicroUsd + s.reservedMicroUsd;
      const share = s.limitMicroUsd > 0 ? Math.min(1, used / s.limitMicroUsd) : 1;
      const level = share >= 0.9 ? 'bad' : share >= 0.7 ? 'warn' : 'ok';
      const scope = s.scope === 'tenant' ? `tenant ${b.tenant}` : `${b.tenant} · ${s.scope} ${s.scopeId ?? ''}`;
      return el(
        'li',
        { className: 'budget' },
        el('div', { className: 'budget-head' }, el('strong', {}, scope), el('span', { className: 'muted' }, ` per ${s.window}`),
          el('span', { className: 'budget-amount' }, `${usd(used)} of ${usd(s.limitMicroUsd)}`)),
        el('div', {
          className: `gauge ${level}`, role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100',
          'aria-valuenow': String(Math.round(share * 100)), 'aria-label': `${scope}: ${Math.round(share * 100)}% used`,
        }, el('div', { className: 'gauge-fill', style: { width: `${(share * 100).toFixed(1)}%` } })),
        el('div', { className: 'budget-foot muted small' },
          `burn ${usd(Math.round(b.burnMicroUsdPerHour))}/h · `,
          b.exhaustedAt ? el('span', { className: level === 'ok' ? '' : 'warn' }, `runs out ${when(b.exhaustedAt)}`) : 'not running out',
          s.resetsAt ? ` · resets ${when(s.resetsAt)}` : '',
          s.tokenLimit !== undefined ? ` · tokens ${count(s.spentTokens)} of ${count(s.tokenLimit)}` : ''),
      );
    }),
  );
}

function renderReplicas(replicas) {
  const sorted = [...replicas].sort((a, b) => a.service.localeCompare(b.service) || a.instance.localeCompare(b.instance));
  if (!sorted.length) return replace($('replicas'), el('tr', {}, el('td', { colspan: '4', className: 'muted' }, 'No replica answered.')));
  replace(
    $('replicas'),
    ...sorted.map((r) => {
      const running = [
        r.sessionsActive !== undefined ? `${r.sessionsActive} sessions` : '',
        r.turnsRunning !== undefined ? `${r.turnsRunning} turns` : '',
        r.taskRunsRunning !== undefined ? `${r.taskRunsRunning} tasks` : '',
      ].filter(Boolean).join(' · ');
      return el('tr', {}, el('td', {}, r.service), el('td', { className: 'mono small' }, r.instance),
        el('td', { className: 'num' }, megabytes(r.rssBytes)), el('td', { className: 'num small' }, running || '–'));
    }),
  );
}

/**
 * Failures newest first; the attempts of one run that failed again and again (a task retried with backoff)
 * are one item with their count, so one bad task does not push every other failure off the list.
 */
function groupFailures(failures) {
  const groups = new Map();
  for (const f of failures) {
    const subject = f.taskId ?? f.sessionId ?? f.runId ?? f.traceId ?? `${f.at}:${f.message}`;
    const key = `${f.tenant}|${f.type}|${subject}`;
    const group = groups.get(key);
    // The gateway already folds a run's attempts into one failure with `attempts`; a session's failed turns fold here.
    if (group) group.count += f.attempts ?? 1;
    else groups.set(key, { failure: f, count: f.attempts ?? 1, first: f.at });
    if (group && f.at < group.first) group.first = f.at;
  }
  return [...groups.values()];
}

function renderFailures(failures) {
  const list = $('failures');
  if (!failures.length) return replace(list, el('li', { className: 'muted' }, 'No failures in this window.'));
  replace(
    list,
    ...groupFailures(failures).map(({ failure: f, count: times, first }) => {
      const actions = el('div', { className: 'actions' });
      if (f.links.run) {
        const button = el('button', { type: 'button', className: 'open-run secondary', 'aria-label': 'Open the run' }, 'run');
        button.addEventListener('click', () => runs.openRun(f.links.run));
        actions.append(button);
      }
      const audit = el('button', { type: 'button', className: 'open-audit secondary', 'aria-label': 'Show the audit records' }, 'audit');
      audit.addEventListener('click', () => runs.openAudit(f.links.audit));
      actions.append(audit);
      if (f.links.trace && /^https?:\/\//.test(f.links.trace)) {
        actions.append(el('a', { className: 'open-trace', href: f.links.trace, target: '_blank', rel: 'noopener noreferrer' }, 'trace ↗'));
      }
      const subject = f.taskId ? `task ${f.taskId}` : f.sessionId ? `session ${f.sessionId}` : f.runId ? `run ${f.runId}` : '';
      return el(
        'li',
        { className: 'failure', dataset: { type: f.type, taskId: f.taskId, sessionId: f.sessionId, count: times } },
        el('div', { className: 'failure-main' },
          el('div', { className: 'failure-head' },
            el('time', { datetime: f.at }, stamp(f.at)),
            el('span', { className: 'tag' }, f.tenant),
            el('code', {}, f.type),
            f.agentId ? el('span', {}, `agent ${f.agentId}`) : null,
            times > 1 ? el('span', { className: 'tag warn', title: `first at ${stamp(first)}` }, `×${times}`) : null),
          subject ? el('div', { className: 'muted mono small' }, subject) : null,
          el('div', { className: 'failure-message' }, clip(f.message, 300))),
        actions,
      );
    }),
  );
}

export { charts };
