// The run viewer (a task's or session's run log as a timeline, with a replay at the steps' own pace) and the
// audit panel (the audit records a failure links to). Both fetch through getJson with the signed-in key.

import { clip, count, el, getJson, replace, stamp } from './util.js';

/** A replay never takes longer than this, whatever the run took. */
const MAX_REPLAY_MS = 5_000;

export function initRuns({ getKey, onApiError }) {
  const viewer = document.getElementById('run-viewer');
  const form = document.getElementById('run-form');
  const title = document.getElementById('run-title');
  const status = document.getElementById('run-status');
  const steps = document.getElementById('run-steps');
  const reply = document.getElementById('run-reply');
  const replayButton = document.getElementById('run-replay');
  const audit = document.getElementById('audit-panel');
  let run;
  let timers = [];

  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const data = new FormData(form);
    const tenant = String(data.get('tenant')).trim();
    const id = String(data.get('id')).trim();
    const param = data.get('kind') === 'session' ? 'sessionId' : 'taskId';
    openRun(`/v1/ops/runs?tenant=${encodeURIComponent(tenant)}&${param}=${encodeURIComponent(id)}`);
  });
  replayButton.addEventListener('click', () => run && replay());
  document.getElementById('audit-close').addEventListener('click', () => {
    audit.hidden = true;
  });

  async function openRun(path) {
    stop();
    viewer.hidden = false;
    viewer.dataset.state = 'loading';
    replayButton.disabled = true;
    replace(status, 'Loading…');
    viewer.scrollIntoView({ block: 'nearest' });
    try {
      run = await getJson(path, getKey());
    } catch (err) {
      run = undefined;
      viewer.dataset.state = 'error';
      replace(title, 'Run');
      replace(steps);
      replace(reply);
      replace(status, el('span', { className: 'error', role: 'alert' }, err.message));
      onApiError(err);
      return;
    }
    replace(title, `${run.kind} ${run.id}`, el('span', { className: 'muted' }, ` · tenant ${run.tenant}`));
    const span = run.steps.length > 1 ? offsetMs(run.steps.at(-1)) : 0;
    replace(
      status,
      `${count(run.steps.length)} steps over ${(span / 1000).toFixed(2)} s`,
      run.truncated ? el('span', { className: 'warn' }, ' · truncated: the run log holds more steps than one replay returns') : null,
    );
    replayButton.disabled = run.steps.length === 0;
    showAll();
    viewer.dataset.state = 'loaded';
  }

  function offsetMs(step) {
    return Math.max(0, Date.parse(step.time) - Date.parse(run.steps[0].time));
  }

  function showAll() {
    replace(steps);
    replace(reply);
    for (const step of run.steps) addStep(step);
  }

  /** Plays the steps back in order at their relative times, sped up so the whole replay fits MAX_REPLAY_MS. */
  function replay() {
    stop();
    replace(steps);
    replace(reply);
    viewer.dataset.replay = 'playing';
    const total = run.steps.length ? offsetMs(run.steps.at(-1)) : 0;
    const scale = total > MAX_REPLAY_MS ? MAX_REPLAY_MS / total : 1;
    run.steps.forEach((step, i) => {
      timers.push(
        setTimeout(() => {
          addStep(step, true);
          if (i === run.steps.length - 1) viewer.dataset.replay = 'done';
        }, offsetMs(step) * scale),
      );
    });
    if (!run.steps.length) viewer.dataset.replay = 'done';
  }

  function stop() {
    for (const t of timers) clearTimeout(t);
    timers = [];
    delete viewer.dataset.replay;
  }

  function addStep(step, live = false) {
    const data = unwrap(step.data);
    if (step.name === 'run.delta' && typeof data.text === 'string') reply.append(data.text);
    const item = el(
      'li',
      { className: `step step-${kindOf(step.name)}${live ? ' live' : ''}`, dataset: { stepName: step.name, seq: String(step.seq) } },
      el('span', { className: 'step-offset' }, `+${(offsetMs(step) / 1000).toFixed(3)} s`),
      el('span', { className: 'step-name' }, step.name),
      el('span', { className: 'step-data' }, describe(step.name, data)),
    );
    steps.append(item);
    if (live) item.scrollIntoView({ block: 'nearest' });
  }

  async function openAudit(path) {
    audit.hidden = false;
    const list = document.getElementById('audit-list');
    const more = document.getElementById('audit-more');
    replace(document.getElementById('audit-query'), decodeURIComponent(path));
    replace(list, el('p', { className: 'muted' }, 'Loading…'));
    more.hidden = true;
    audit.scrollIntoView({ block: 'nearest' });
    const rows = el('tbody');
    const table = el(
      'table',
      { className: 'audit-table' },
      el('thead', {}, el('tr', {}, ...['Time', 'Type', 'Actor', 'Service', 'Details'].map((h) => el('th', { scope: 'col' }, h)))),
      rows,
    );
    const load = async (page) => {
      let body;
      try {
        body = await getJson(page, getKey());
      } catch (err) {
        replace(list, el('p', { className: 'error', role: 'alert' }, err.message));
        onApiError(err);
        return;
      }
      if (!rows.isConnected) replace(list, body.events.length ? table : el('p', { className: 'muted' }, 'No audit records (yet): they can lag a second or two.'));
      for (const e of body.events) {
        rows.append(
          el(
            'tr',
            { className: 'audit-event', dataset: { type: e.type } },
            el('td', { className: 'nowrap' }, stamp(e.time)),
            el('td', { className: 'nowrap' }, el('code', {}, e.type)),
            el('td', {}, `${e.actor?.kind ?? '?'}:${e.actor?.id ?? '?'}`),
            el('td', {}, e.service),
            el('td', { className: 'audit-summary' }, summary(e)),
          ),
        );
      }
      more.hidden = !body.nextCursor;
      more.onclick = () => load(withCursor(path, body.nextCursor));
    };
    await load(path);
  }

  return { openRun, openAudit };
}

function withCursor(path, cursor) {
  const url = new URL(path, location.origin);
  url.searchParams.set('cursor', cursor);
  return `${url.pathname}${url.search}`;
}

/** The audit record's ids and data as short key=value pairs. */
function summary(e) {
  const parts = [];
  for (const key of ['agentId', 'taskId', 'sessionId', 'runId']) if (e[key]) parts.push(`${key}=${e[key]}`);
  for (const [key, value] of Object.entries(e.data ?? {})) parts.push(`${key}=${clip(typeof value === 'string' ? value : JSON.stringify(value), 60)}`);
  if (e.refs?.length) parts.push(`refs=${e.refs.map((r) => r.kind).join(',')}`);
  return clip(parts.join('  '), 400);
}

/** A step's data is the CloudEvent's data; accept the whole CloudEvent too. */
function unwrap(data) {
  if (data && typeof data === 'object' && 'specversion' in data && 'data' in data) return data.data ?? {};
  return data && typeof data === 'object' ? data : { value: data };
}

function kindOf(name) {
  if (name === 'run.failed') return 'failed';
  if (name === 'run.completed') return 'completed';
  if (name === 'run.tool_call' || name === 'run.tool_result' || name === 'run.approval_required') return 'tool';
  return 'info';
}

/** One line per step: what an operator wants to see of it. */
function describe(name, d) {
  switch (name) {
    case 'run.started':
      return `agent ${d.agentId ?? '?'} · run ${d.runId ?? '?'} · attempt ${d.attempt ?? 1}`;
    case 'run.delta':
      return `“${clip(d.text ?? '', 200)}”`;
    case 'run.tool_call':
      return `${d.name}(${clip(d.arguments ?? '', 200)})`;
    case 'run.tool_result':
      return d.ok ? `${d.name} → ${clip(d.content ?? '', 200)}` : `${d.name} ✗ ${clip(d.error ?? 'failed', 200)}`;
    case 'run.approval_required':
      return `${d.name}(${clip(d.arguments ?? '', 120)}) awaits approval ${d.approvalId ?? ''}`;
    case 'run.routed': {
      const c = d.candidate ?? {};
      const extra = [
        d.reasons?.length ? `reasons ${d.reasons.join(', ')}` : '',
        d.fallbacks?.length ? `after ${d.fallbacks.map((f) => `${f.candidate?.model} (${f.outcome})`).join(', ')}` : '',
        d.downgraded ? 'downgraded' : '',
      ].filter(Boolean);
      return `${d.policy}/${d.tier} score ${d.score} → ${c.provider}/${c.model}${extra.length ? ` · ${extra.join(' · ')}` : ''}`;
    }
    case 'run.completed': {
      const o = d.outcome ?? {};
      const u = o.usage ?? {};
      return `${o.model ?? '?'} · ${o.finishReason ?? '?'} · tokens ${u.inputTokens ?? 0} in / ${u.outputTokens ?? 0} out / ${u.totalTokens ?? 0} total`;
    }
    case 'run.failed':
      return `${d.error?.code ?? 'error'}: ${clip(d.error?.message ?? '', 300)}`;
    default:
      return clip(JSON.stringify(d), 200);
  }
}
