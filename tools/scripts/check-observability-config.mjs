#!/usr/bin/env node
// Checks deploy/observability against the metric catalogue, so that a renamed metric cannot leave a dashboard
// silently empty or an alert silently quiet. Run: node tools/scripts/check-observability-config.mjs
// (needs the built catalogue: npx tsc -b libs/observability). Exits 1 and prints one line per problem,
// naming the file and the expression.
//
// What it checks:
// - every `keelson_*` metric in the alert/recording rules, the dashboards' queries, variables and annotations is
//   in the catalogue (libs/observability/dist/metrics/catalogue.js; histograms also as _bucket/_sum/_count) or
//   is one of prom-client's default metrics under the `keelson_` prefix (keelson_process_cpu_...);
// - label names in a catalogue metric's selector are its labels, or service/instance/job (le on _bucket);
// - every recorded series an expression reads (a name with colons) is recorded in alerts.yml, and every
//   recording rule is named level:metric:operations with a catalogue metric in the middle;
// - every alert has `for`, a severity label, summary, description and a runbook pointer;
// - light PromQL syntax: balanced brackets, known functions and aggregations;
// - dashboards: schemaVersion, uid, unique panel ids, the service (and on the cost one, tenant) variables;
// - prometheus.yml: its rule_files exist and the six services are scraped.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import YAML from 'yaml';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const DEPLOY = 'deploy/observability';
export const RUNBOOK = 'docs/operations.md#alerts';
export const SEVERITIES = ['critical', 'warning', 'info'];
const SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'];
const HISTOGRAM_SUFFIXES = ['_bucket', '_sum', '_count'];
// Labels Prometheus or the scrape config add to every series.
const TARGET_LABELS = ['service', 'instance', 'job'];

const FUNCTIONS = new Set(
  `abs absent absent_over_time acos acosh asin asinh atan atanh avg_over_time ceil changes clamp clamp_max
  clamp_min cos cosh count_over_time day_of_month day_of_week day_of_year days_in_month deg delta deriv
  double_exponential_smoothing exp floor histogram_avg histogram_count histogram_fraction histogram_quantile
  histogram_stddev histogram_stdvar histogram_sum holt_winters hour idelta increase irate label_join
  label_replace last_over_time ln log10 log2 mad_over_time max_over_time min_over_time minute month pi
  predict_linear present_over_time quantile_over_time rad rate resets round scalar sgn sin sinh sort sort_by_label
  sort_by_label_desc sort_desc sqrt stddev_over_time stdvar_over_time sum_over_time tan tanh time timestamp
  vector year`.split(/\s+/),
);
const AGGREGATIONS = new Set(
  'sum min max avg group stddev stdvar count count_values bottomk topk quantile limitk limit_ratio'.split(' '),
);
// Words that may stand before a parenthesis without being a function.
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'and', 'or', 'unless', 'bool', 'offset']);

/** The catalogue: metric name -> spec. Throws a clear error when it has not been built. */
export async function loadCatalogue(root = ROOT) {
  const file = join(root, 'libs/observability/dist/metrics/catalogue.js');
  if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing: build it with npx tsc -b libs/observability`);
  const mod = await import(pathToFileURL(file).href);
  const metrics = mod.Metrics ?? mod.default?.Metrics;
  if (!metrics) throw new Error(`${relative(root, file)} exports no Metrics`);
  return new Map(Object.values(metrics).map((m) => [m.name, m]));
}

/**
 * prom-client's default metrics as services export them: the registry's PROCESS_METRICS_PREFIX
 * (`keelson_`) before prom-client's own name, which keeps its `process_` or `nodejs_` part:
 * keelson_process_resident_memory_bytes, keelson_nodejs_eventloop_lag_seconds.
 */
export async function loadProcessMetrics(root = ROOT) {
  const registryFile = join(root, 'libs/observability/dist/metrics/registry.js');
  let prefix = 'keelson_';
  if (existsSync(registryFile)) {
    const mod = await import(pathToFileURL(registryFile).href);
    prefix = mod.PROCESS_METRICS_PREFIX ?? mod.default?.PROCESS_METRICS_PREFIX ?? prefix;
  }
  const client = createRequire(join(root, 'package.json'))('prom-client');
  const register = new client.Registry();
  client.collectDefaultMetrics({ register });
  const defaults = await register.getMetricsAsJSON();
  register.clear();
  return new Map(defaults.map(({ name, type }) => [`${prefix}${name}`, { name: `${prefix}${name}`, type, labels: [] }]));
}

/** The catalogue spec a series name belongs to (histogram suffixes stripped), or undefined. */
export function specFor(name, known) {
  if (known.has(name)) return { spec: known.get(name), suffix: '' };
  for (const suffix of HISTOGRAM_SUFFIXES) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base && known.get(base)?.type === 'histogram') return { spec: known.get(base), suffix };
  }
  return undefined;
}

/** Replaces Grafana's variables ($__rate_interval, ${tenant}, [[x]]) with values PromQL accepts. */
export function expandGrafanaVariables(expr) {
  return expr
    .replace(/\$__(rate_interval|interval|range)\b|\$\{__(rate_interval|interval|range)\}/g, '5m')
    .replace(/\$\{__range_s\}|\$__range_s\b/g, '300')
    .replace(/\$\{[A-Za-z0-9_]+(?::[a-z]+)?\}|\$[A-Za-z_][A-Za-z0-9_]*|\[\[[A-Za-z0-9_]+\]\]/g, 'x');
}

/** Strings emptied (quotes kept) and comments dropped, so that names inside them are not read as metrics. */
function stripStringsAndComments(expr) {
  let out = '';
  for (let i = 0; i < expr.length; i++) {
    const c = expr[i];
    if (c === '"' || c === "'" || c === '`') {
      let j = i + 1;
      while (j < expr.length && expr[j] !== c) j += expr[j] === '\\' && c !== '`' ? 2 : 1;
      out += `${c}${c}`;
      i = j;
    } else if (c === '#') {
      while (i < expr.length && expr[i] !== '\n') i++;
      out += '\n';
    } else out += c;
  }
  return out;
}

/** Problems of one PromQL expression; `where` names the file and rule or panel. */
export function checkExpr(where, rawExpr, { known, recorded }) {
  const problems = [];
  const say = (msg) => problems.push(`${where}: ${msg} in: ${rawExpr.replace(/\s+/g, ' ').trim()}`);
  const expr = stripStringsAndComments(expandGrafanaVariables(rawExpr));

  // Brackets balance and nest.
  const stack = [];
  const pairs = { ')': '(', ']': '[', '}': '{' };
  for (const c of expr) {
    if ('([{'.includes(c)) stack.push(c);
    else if (c in pairs && stack.pop() !== pairs[c]) {
      say(`unbalanced '${c}'`);
      return problems;
    }
  }
  if (stack.length) say(`unclosed '${stack.at(-1)}'`);

  // Names: drop range and subquery brackets ([5m], [1h:1m]) first.
  const noRanges = expr.replace(/\[[^\]]*\]/g, '');
  const labelBlocks = [];
  const noLabels = noRanges.replace(/\{[^}]*\}/g, (block) => {
    labelBlocks.push(block);
    return `{#${labelBlocks.length - 1}}`;
  });
  const tokens = /([A-Za-z_:][A-Za-z0-9_:]*)\s*(\(|\{#(\d+)\})?/g;
  for (const [, name, after, block] of noLabels.matchAll(tokens)) {
    if (after === '(') {
      if (!FUNCTIONS.has(name) && !AGGREGATIONS.has(name) && !KEYWORDS.has(name)) say(`unknown function '${name}'`);
      continue;
    }
    if (name.includes(':')) {
      if (!recorded.has(name)) say(`'${name}' is not recorded by any rule in ${DEPLOY}/prometheus/alerts.yml`);
      continue;
    }
    if (!name.startsWith('keelson_')) continue;
    const found = specFor(name, known);
    if (!found) {
      say(`metric '${name}' is not in the catalogue (libs/observability/src/metrics/catalogue.ts) nor a keelson_process_ default`);
      continue;
    }
    if (block === undefined) continue;
    const allowed = new Set([...found.spec.labels, ...TARGET_LABELS, ...(found.suffix === '_bucket' ? ['le'] : [])]);
    for (const [, label] of labelBlocks[Number(block)].matchAll(/([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)/g)) {
      if (label !== '__name__' && !allowed.has(label)) say(`'${name}' has no label '${label}'`);
    }
  }
  return problems;
}

const RECORD_NAME = /^([a-z][a-z0-9_]*):([a-z][a-z0-9_]*):([a-z0-9_]+)$/;

/** Problems of a Prometheus rule file's text (recording rules and alerts), and the series it records. */
export function checkRules(file, text, known) {
  const problems = [];
  let doc;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    return { problems: [`${file}: not YAML: ${err.message}`], recorded: new Set() };
  }
  const groups = doc?.groups;
  if (!Array.isArray(groups) || groups.length === 0) return { problems: [`${file}: no rule groups`], recorded: new Set() };
  const rules = groups.flatMap((g) => (Array.isArray(g.rules) ? g.rules.map((r) => ({ group: g.name, ...r })) : []));
  const recorded = new Set(rules.filter((r) => r.record).map((r) => r.record));
  let alerts = 0;
  for (const rule of rules) {
    const name = rule.record ?? rule.alert;
    const where = `${file} (${rule.record ? 'record' : 'alert'} ${name ?? '?'})`;
    if (!name) problems.push(`${file}: a rule in group ${rule.group} has neither record nor alert`);
    if (typeof rule.expr !== 'string' && typeof rule.expr !== 'number') {
      problems.push(`${where}: no expr`);
      continue;
    }
    problems.push(...checkExpr(where, String(rule.expr), { known, recorded }));
    if (rule.record) {
      const m = RECORD_NAME.exec(rule.record);
      if (!m) problems.push(`${where}: recording rule name must be level:metric:operations`);
      else if (!specFor(m[2], known) && !specFor(`${m[2]}_total`, known)) {
        problems.push(`${where}: the metric part '${m[2]}' of the name is not a catalogue metric (with _total dropped)`);
      }
      continue;
    }
    alerts++;
    if (!rule.for) problems.push(`${where}: no 'for'`);
    if (!SEVERITIES.includes(rule.labels?.severity)) problems.push(`${where}: severity label must be one of ${SEVERITIES.join(', ')}`);
    for (const key of ['summary', 'description']) {
      if (!rule.annotations?.[key]) problems.push(`${where}: no ${key} annotation`);
    }
    const runbook = rule.annotations?.runbook_url ?? rule.annotations?.runbook;
    if (!String(runbook ?? '').includes(RUNBOOK)) problems.push(`${where}: runbook_url must point at ${RUNBOOK}`);
  }
  if (alerts === 0) problems.push(`${file}: no alerts`);
  return { problems, recorded };
}

function panelsOf(dashboard) {
  const out = [];
  const walk = (panels) => {
    for (const p of panels ?? []) {
      out.push(p);
      walk(p.panels);
    }
  };
  walk(dashboard.panels);
  return out;
}

/** Problems of a Grafana dashboard's JSON text. `requiredVariables` must be in its templating. */
export function checkDashboard(file, text, { known, recorded, requiredVariables = ['service'] }) {
  const problems = [];
  let dash;
  try {
    dash = JSON.parse(text);
  } catch (err) {
    return [`${file}: not JSON: ${err.message}`];
  }
  if (!dash.uid) problems.push(`${file}: no uid`);
  if (!dash.title) problems.push(`${file}: no title`);
  if (!(dash.schemaVersion >= 36)) problems.push(`${file}: schemaVersion ${dash.schemaVersion} is older than 36`);
  const vars = dash.templating?.list ?? [];
  for (const name of requiredVariables) {
    if (!vars.some((v) => v.name === name)) problems.push(`${file}: no '${name}' templating variable`);
  }
  const ids = new Set();
  let queries = 0;
  for (const panel of panelsOf(dash)) {
    if (ids.has(panel.id)) problems.push(`${file}: panel id ${panel.id} is used twice`);
    ids.add(panel.id);
    if (panel.type === 'row') continue;
    const where = `${file} (panel "${panel.title}")`;
    if (!panel.gridPos) problems.push(`${where}: no gridPos`);
    const exprs = (panel.targets ?? []).map((t) => t.expr).filter((e) => typeof e === 'string' && e.trim());
    if (exprs.length === 0) problems.push(`${where}: no query`);
    for (const expr of exprs) problems.push(...checkExpr(where, expr, { known, recorded }));
    queries += exprs.length;
  }
  for (const v of vars) {
    if (v.type !== 'query') continue;
    const query = typeof v.query === 'string' ? v.query : v.query?.query;
    if (typeof query !== 'string') continue;
    // Grafana's label_values(selector, label) / query_result(expr): check what is inside.
    const inner = /^\s*(?:label_values|query_result|metrics)\((.*)\)\s*$/s.exec(query);
    const expr = inner ? inner[1].replace(/,\s*[A-Za-z_][A-Za-z0-9_]*\s*$/, '') : query;
    problems.push(...checkExpr(`${file} (variable ${v.name})`, expr, { known, recorded }));
  }
  for (const a of dash.annotations?.list ?? []) {
    if (typeof a.expr === 'string') problems.push(...checkExpr(`${file} (annotation ${a.name})`, a.expr, { known, recorded }));
  }
  if (queries === 0) problems.push(`${file}: no queries`);
  return problems;
}

/** Problems of prometheus.yml: parses, its rule files exist, every service is scraped. */
export function checkPrometheusConfig(file, text, dir) {
  const problems = [];
  let doc;
  try {
    doc = YAML.parse(text);
  } catch (err) {
    return [`${file}: not YAML: ${err.message}`];
  }
  const ruleFiles = doc?.rule_files ?? [];
  if (ruleFiles.length === 0) problems.push(`${file}: no rule_files`);
  for (const r of ruleFiles) if (!existsSync(join(dir, r))) problems.push(`${file}: rule file ${r} does not exist`);
  const scraped = JSON.stringify(doc?.scrape_configs ?? []);
  for (const s of SERVICES) if (!scraped.includes(`"${s}"`)) problems.push(`${file}: service ${s} is not scraped`);
  return problems;
}

/** Every problem of deploy/observability under `root`. */
export async function checkObservabilityConfig(root = ROOT) {
  const known = new Map([...(await loadProcessMetrics(root)), ...(await loadCatalogue(root))]);
  const base = join(root, DEPLOY);
  const rel = (p) => relative(root, p);
  const problems = [];

  const promFile = join(base, 'prometheus/prometheus.yml');
  problems.push(...checkPrometheusConfig(rel(promFile), readFileSync(promFile, 'utf8'), dirname(promFile)));

  const alertsFile = join(base, 'prometheus/alerts.yml');
  const { problems: ruleProblems, recorded } = checkRules(rel(alertsFile), readFileSync(alertsFile, 'utf8'), known);
  problems.push(...ruleProblems);

  const dashDir = join(base, 'grafana/dashboards');
  const dashboards = readdirSync(dashDir).filter((f) => f.endsWith('.json')).sort();
  if (dashboards.length === 0) problems.push(`${rel(dashDir)}: no dashboards`);
  for (const f of dashboards) {
    const text = readFileSync(join(dashDir, f), 'utf8');
    const requiredVariables = /cost/.test(f) ? ['service', 'tenant'] : ['service'];
    problems.push(...checkDashboard(rel(join(dashDir, f)), text, { known, recorded, requiredVariables }));
  }
  return problems;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  checkObservabilityConfig().then(
    (problems) => {
      for (const p of problems) console.error(p);
      console.log(problems.length ? `${problems.length} problems` : 'deploy/observability matches the metric catalogue');
      process.exit(problems.length ? 1 : 0);
    },
    (err) => {
      console.error(err.message);
      process.exit(1);
    },
  );
}
