// deploy/kubernetes/network-policies against the Kubernetes NetworkPolicy API and against the flows the code
// really has (flows.json, the services' configs). Offline, no cluster. Run:
//   node --test tools/network-policies.spec.mjs
//
// The structure check is a strict validator of networking.k8s.io/v1 NetworkPolicy written here from the API
// reference (every field of the type, unknown fields refused, which the API server itself would only drop):
// kubernetes-models, which carries the official schema, needs Node >= 22 from its 5.x releases on, and the
// repository runs on Node 20.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { isIP } from 'node:net';
import { dirname, join, relative } from 'node:path';
import { describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const require = createRequire(import.meta.url);

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const policyDir = join(root, 'deploy', 'kubernetes', 'network-policies');
const SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'];
/** Ranges the internet egress must leave out: private, link-local (cloud metadata 169.254.169.254), CGNAT, loopback. */
const MUST_EXCLUDE = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '169.254.0.0/16', '169.254.169.254/32', '100.64.0.0/10', '127.0.0.0/8'];
const INTERNET_AGENTS = ['session-agent', 'task-worker'];
const NAME_LABEL = 'app.kubernetes.io/name';

// ---------------------------------------------------------------- loading

/** Every YAML document of a file, with its file name; a parse error is a problem, not an exception. */
export function loadYamlDocs(path, problems) {
  const file = relative(root, path);
  const docs = [];
  for (const d of parseAllDocuments(readFileSync(path, 'utf8'))) {
    if (d.errors.length) problems.push(`${file}: YAML error: ${d.errors[0].message}`);
    else if (d.contents !== null) docs.push({ file, doc: d.toJS() });
  }
  return docs;
}

const yamlFiles = (dir) =>
  readdirSync(dir)
    .filter((n) => n.endsWith('.yaml') || n.endsWith('.yml'))
    .sort()
    .map((n) => join(dir, n));

/** The port each service listens on for its API or health, /readyz and /metrics: the default in its config. */
export function configuredPorts() {
  const ports = {};
  for (const s of SERVICES) {
    const src = readFileSync(join(root, 'apps', s, 'src', 'config.ts'), 'utf8');
    const m = /port\('(?:PORT|HEALTH_PORT)',\s*(\d+)\)/.exec(src);
    if (m) ports[s] = Number(m[1]);
  }
  // The defaults as the built config parses them (npm test builds before the tools tests run).
  const fields = require(join(root, 'libs', 'config', 'dist', 'fields.js'));
  const portOf = (url) => Number(new URL(url.split(',')[0]).port);
  const nats = [, portOf(fields.natsUrl.parse(undefined))];
  const redis = [, portOf(fields.redisUrl.parse(undefined))];
  const otel = /http:\s*\n\s*endpoint:\s*[\d.]+:(\d+)/.exec(readFileSync(join(root, 'deploy', 'observability', 'otel-collector.yaml'), 'utf8'));
  return { services: ports, nats: nats && Number(nats[1]), redis: redis && Number(redis[1]), otlpHttp: otel && Number(otel[1]) };
}

// ---------------------------------------------------------------- structure (networking.k8s.io/v1)

const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
const SVC_NAME = /^(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]?$/;
const isObj = (v) => v !== null && typeof v === 'object' && !Array.isArray(v);

function fields(obj, allowed, where, problems) {
  if (!isObj(obj)) {
    problems.push(`${where}: expected an object`);
    return false;
  }
  for (const k of Object.keys(obj)) if (!allowed.includes(k)) problems.push(`${where}: unknown field '${k}'`);
  return true;
}

function list(v, where, problems) {
  if (v === undefined) return [];
  if (!Array.isArray(v)) {
    problems.push(`${where}: expected a list`);
    return [];
  }
  return v;
}

function labelKey(k) {
  const parts = k.split('/');
  if (parts.length > 2) return false;
  const name = parts.at(-1);
  if (parts.length === 2 && (parts[0].length > 253 || !DNS_SUBDOMAIN.test(parts[0]))) return false;
  return name.length <= 63 && LABEL_NAME.test(name);
}
const labelValue = (v) => typeof v === 'string' && v.length <= 63 && (v === '' || LABEL_NAME.test(v));

function labelMap(m, where, problems) {
  if (m === undefined) return;
  if (!isObj(m)) return problems.push(`${where}: expected a map of labels`);
  for (const [k, v] of Object.entries(m)) {
    if (!labelKey(k)) problems.push(`${where}: '${k}' is not a valid label key`);
    if (!labelValue(v)) problems.push(`${where}: ${k}: ${JSON.stringify(v)} is not a valid label value (a string of at most 63 characters)`);
  }
}

function labelSelector(sel, where, problems) {
  if (!fields(sel, ['matchLabels', 'matchExpressions'], where, problems)) return;
  labelMap(sel.matchLabels, `${where}.matchLabels`, problems);
  list(sel.matchExpressions, `${where}.matchExpressions`, problems).forEach((e, i) => {
    const w = `${where}.matchExpressions[${i}]`;
    if (!fields(e, ['key', 'operator', 'values'], w, problems)) return;
    if (typeof e.key !== 'string' || !labelKey(e.key)) problems.push(`${w}.key: required, a label key`);
    if (!['In', 'NotIn', 'Exists', 'DoesNotExist'].includes(e.operator)) problems.push(`${w}.operator: expected In, NotIn, Exists or DoesNotExist`);
    const values = list(e.values, `${w}.values`, problems);
    if (['In', 'NotIn'].includes(e.operator) && values.length === 0) problems.push(`${w}.values: required for ${e.operator}`);
    if (['Exists', 'DoesNotExist'].includes(e.operator) && values.length > 0) problems.push(`${w}.values: must be empty for ${e.operator}`);
    values.forEach((v, j) => labelValue(v) || problems.push(`${w}.values[${j}]: not a valid label value`));
  });
}

/** [first, last] address of an IPv4 CIDR as numbers, or undefined. */
export function v4Range(cidr) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(cidr ?? '');
  if (!m || isIP(cidr.split('/')[0]) !== 4 || Number(m[5]) > 32) return undefined;
  const ip = m.slice(1, 5).reduce((a, o) => a * 256 + Number(o), 0);
  const size = 2 ** (32 - Number(m[5]));
  const first = Math.floor(ip / size) * size;
  return [first, first + size - 1];
}
const validCidr = (c) => {
  if (typeof c !== 'string') return false;
  const [a, bits, ...rest] = c.split('/');
  if (rest.length || bits === undefined || !/^\d+$/.test(bits)) return false;
  return isIP(a) === 4 ? v4Range(c) !== undefined : isIP(a) === 6 && Number(bits) <= 128;
};
const within = (inner, outer) => {
  const i = v4Range(inner);
  const o = v4Range(outer);
  return i && o && i[0] >= o[0] && i[1] <= o[1];
};

function peerShape(p, where, problems) {
  if (!fields(p, ['podSelector', 'namespaceSelector', 'ipBlock'], where, problems)) return;
  if (p.ipBlock !== undefined) {
    if (p.podSelector !== undefined || p.namespaceSelector !== undefined) problems.push(`${where}: ipBlock cannot be combined with a selector`);
    if (!fields(p.ipBlock, ['cidr', 'except'], `${where}.ipBlock`, problems)) return;
    if (!validCidr(p.ipBlock.cidr)) problems.push(`${where}.ipBlock.cidr: ${JSON.stringify(p.ipBlock.cidr)} is not a CIDR`);
    list(p.ipBlock.except, `${where}.ipBlock.except`, problems).forEach((e, i) => {
      if (!validCidr(e)) problems.push(`${where}.ipBlock.except[${i}]: ${JSON.stringify(e)} is not a CIDR`);
      else if (v4Range(e) && v4Range(p.ipBlock.cidr) && !within(e, p.ipBlock.cidr)) problems.push(`${where}.ipBlock.except[${i}]: ${e} is outside ${p.ipBlock.cidr}`);
    });
    return;
  }
  if (p.podSelector === undefined && p.namespaceSelector === undefined) problems.push(`${where}: needs podSelector, namespaceSelector or ipBlock`);
  if (p.podSelector !== undefined) labelSelector(p.podSelector, `${where}.podSelector`, problems);
  if (p.namespaceSelector !== undefined) labelSelector(p.namespaceSelector, `${where}.namespaceSelector`, problems);
}

function portShape(p, where, problems) {
  if (!fields(p, ['protocol', 'port', 'endPort'], where, problems)) return;
  if (p.protocol !== undefined && !['TCP', 'UDP', 'SCTP'].includes(p.protocol)) problems.push(`${where}.protocol: expected TCP, UDP or SCTP`);
  const numeric = Number.isInteger(p.port);
  if (p.port !== undefined && !(numeric ? p.port >= 1 && p.port <= 65535 : typeof p.port === 'string' && p.port.length <= 15 && SVC_NAME.test(p.port))) {
    problems.push(`${where}.port: ${JSON.stringify(p.port)} is neither a port number nor a port name`);
  }
  if (p.endPort !== undefined && !(numeric && Number.isInteger(p.endPort) && p.endPort >= p.port && p.endPort <= 65535)) {
    problems.push(`${where}.endPort: needs a numeric port and must be between it and 65535`);
  }
}

/** Problems of one document as a networking.k8s.io/v1 NetworkPolicy; [] when it is one. */
export function validateNetworkPolicy(doc, where) {
  const problems = [];
  if (!fields(doc, ['apiVersion', 'kind', 'metadata', 'spec'], where, problems)) return problems;
  if (doc.apiVersion !== 'networking.k8s.io/v1') problems.push(`${where}: apiVersion must be networking.k8s.io/v1, not ${JSON.stringify(doc.apiVersion)}`);
  if (doc.kind !== 'NetworkPolicy') problems.push(`${where}: kind must be NetworkPolicy, not ${JSON.stringify(doc.kind)}`);
  if (fields(doc.metadata, ['name', 'namespace', 'labels', 'annotations'], `${where}.metadata`, problems)) {
    const { name, namespace } = doc.metadata;
    if (typeof name !== 'string' || name.length > 253 || !DNS_SUBDOMAIN.test(name)) problems.push(`${where}.metadata.name: required, a DNS subdomain`);
    if (namespace !== undefined && (typeof namespace !== 'string' || namespace.length > 63 || !DNS_LABEL.test(namespace))) problems.push(`${where}.metadata.namespace: not a DNS label`);
    labelMap(doc.metadata.labels, `${where}.metadata.labels`, problems);
    if (doc.metadata.annotations !== undefined && (!isObj(doc.metadata.annotations) || Object.values(doc.metadata.annotations).some((v) => typeof v !== 'string'))) {
      problems.push(`${where}.metadata.annotations: expected a map of strings`);
    }
  }
  const spec = doc.spec;
  if (!fields(spec, ['podSelector', 'policyTypes', 'ingress', 'egress'], `${where}.spec`, problems)) return problems;
  if (spec.podSelector === undefined) problems.push(`${where}.spec.podSelector: required ({} selects every pod)`);
  else labelSelector(spec.podSelector, `${where}.spec.podSelector`, problems);
  const types = list(spec.policyTypes, `${where}.spec.policyTypes`, problems);
  if (types.length === 0) problems.push(`${where}.spec.policyTypes: required here, so that each policy says which directions it restricts`);
  types.forEach((t, i) => ['Ingress', 'Egress'].includes(t) || problems.push(`${where}.spec.policyTypes[${i}]: expected Ingress or Egress`));
  if (new Set(types).size !== types.length) problems.push(`${where}.spec.policyTypes: duplicates`);
  for (const [key, peers, type] of [['ingress', 'from', 'Ingress'], ['egress', 'to', 'Egress']]) {
    const rules = list(spec[key], `${where}.spec.${key}`, problems);
    if (rules.length && !types.includes(type)) problems.push(`${where}.spec.${key}: has rules but policyTypes lacks ${type}, so they would be ignored`);
    rules.forEach((r, i) => {
      const w = `${where}.spec.${key}[${i}]`;
      if (!fields(r, [peers, 'ports'], w, problems)) return;
      list(r[peers], `${w}.${peers}`, problems).forEach((p, j) => peerShape(p, `${w}.${peers}[${j}]`, problems));
      list(r.ports, `${w}.ports`, problems).forEach((p, j) => portShape(p, `${w}.ports[${j}]`, problems));
    });
  }
  return problems;
}

// ---------------------------------------------------------------- meaning

const sameSet = (a, b) => a.length === b.length && [...a].sort().join() === [...b].sort().join();
const onlyKeys = (o, keys) => isObj(o) && sameSet(Object.keys(o), keys);

/** The single workload a selector names (`app.kubernetes.io/name: x`), '*' for {}, else undefined. */
function selected(sel) {
  if (!isObj(sel)) return undefined;
  if (Object.keys(sel).length === 0 || (onlyKeys(sel, ['matchLabels']) && Object.keys(sel.matchLabels ?? {}).length === 0)) return '*';
  if (onlyKeys(sel, ['matchLabels']) && onlyKeys(sel.matchLabels, [NAME_LABEL])) return sel.matchLabels[NAME_LABEL];
  return undefined;
}

/** Which endpoint of flows.json a rule's peer is, or a description of why it is none. */
function resolvePeer(p, table, workloads) {
  if (p.ipBlock) {
    const hit = Object.entries(table.peers).find(([, d]) => d.cidr && d.cidr === p.ipBlock.cidr && sameSet(d.except ?? [], p.ipBlock.except ?? []));
    return hit ? { name: hit[0] } : { problem: `ipBlock ${p.ipBlock.cidr} except [${(p.ipBlock.except ?? []).join(', ')}] is not a peer of flows.json` };
  }
  if (p.namespaceSelector === undefined) {
    const w = selected(p.podSelector);
    if (w === '*') return { problem: 'podSelector {} admits every pod of the namespace' };
    return workloads.includes(w) ? { name: w } : { problem: `podSelector ${JSON.stringify(p.podSelector)} is not one workload of flows.json` };
  }
  const ns = onlyKeys(p.namespaceSelector, ['matchLabels']) && onlyKeys(p.namespaceSelector.matchLabels, ['kubernetes.io/metadata.name'])
    ? p.namespaceSelector.matchLabels['kubernetes.io/metadata.name']
    : undefined;
  if (!ns) return { problem: `namespaceSelector ${JSON.stringify(p.namespaceSelector)} does not name one namespace (every namespace, or a label anyone may set)` };
  const podLabels = p.podSelector?.matchLabels;
  if (p.podSelector !== undefined && !onlyKeys(p.podSelector, ['matchLabels'])) return { problem: 'podSelector with expressions' };
  const hit = Object.entries(table.peers).find(
    ([, d]) => d.namespace === ns && JSON.stringify(d.podLabels ?? {}) === JSON.stringify(podLabels ?? {}),
  );
  return hit ? { name: hit[0] } : { problem: `namespace ${ns} with pods ${JSON.stringify(podLabels ?? 'any')} is not a peer of flows.json` };
}

const key = (dir, from, to, port, proto) => `${dir} ${from} -> ${to} ${port}/${proto}`;

/**
 * Problems of the policy set in manifests/ against flows.json and the configs: the whole check, so a test
 * can feed it a changed set and see the message.
 */
export function checkPolicySet(docs, table, configured) {
  const problems = [];
  const services = Object.keys(table.services);
  const infra = Object.keys(table.infrastructure);
  const workloads = [...services, ...infra];
  const listening = Object.fromEntries([
    ...services.map((s) => [s, [table.services[s].port]]),
    ...infra.map((w) => [w, Object.values(table.infrastructure[w].ports)]),
  ]);

  // Ports in flows.json are the ones the code uses.
  for (const s of SERVICES) {
    if (!services.includes(s)) problems.push(`flows.json: service ${s} is missing`);
    else if (configured.services[s] !== table.services[s].port) {
      problems.push(`flows.json: ${s} port ${table.services[s].port}, but apps/${s}/src/config.ts listens on ${configured.services[s]} by default`);
    }
  }
  for (const [w, p, what] of [['nats', configured.nats, 'NATS_URL default'], ['redis', configured.redis, 'REDIS_URL default'], ['otel-collector', configured.otlpHttp, 'otel-collector.yaml OTLP/HTTP']]) {
    if (!Object.values(table.infrastructure[w]?.ports ?? {}).includes(p)) problems.push(`flows.json: ${w} does not list port ${p} (${what})`);
  }
  const internet = table.peers.internet;
  for (const r of MUST_EXCLUDE) {
    if (!(internet.except ?? []).some((e) => within(r, e))) problems.push(`flows.json: the internet peer does not exclude ${r}`);
  }

  // Expected edges: a flow inside the namespace needs the source's egress and the destination's ingress.
  const expected = new Map();
  for (const f of table.flows) {
    const proto = f.protocol ?? 'TCP';
    const fromInside = f.from === '*' || workloads.includes(f.from);
    const toInside = workloads.includes(f.to);
    if (!fromInside && !toInside) problems.push(`flows.json: flow ${f.from} -> ${f.to} touches no workload of the namespace`);
    if (toInside && !listening[f.to].includes(f.port)) problems.push(`flows.json: flow ${f.from} -> ${f.to} on ${f.port}, but ${f.to} listens on ${listening[f.to].join(', ')}`);
    if (fromInside) expected.set(key('egress', f.from, f.to, f.port, proto), f);
    if (toInside) expected.set(key('ingress', f.from, f.to, f.port, proto), f);
  }

  const actual = new Map();
  const names = new Map();
  let defaultDeny = false;
  const covered = new Set();
  for (const { file, doc } of docs) {
    const where = `${file}: policy ${doc?.metadata?.name ?? '(no name)'}`;
    const shape = validateNetworkPolicy(doc, `${file} (${doc?.metadata?.name ?? '?'})`);
    if (shape.length) {
      problems.push(...shape);
      continue;
    }
    const { metadata, spec } = doc;
    if (names.has(metadata.name)) problems.push(`${where}: name also used in ${names.get(metadata.name)}`);
    names.set(metadata.name, file);
    if (metadata.namespace !== table.namespace) problems.push(`${where}: namespace must be ${table.namespace}, not ${metadata.namespace}`);
    if (metadata.labels?.['app.kubernetes.io/part-of'] !== 'keelson') problems.push(`${where}: label app.kubernetes.io/part-of: keelson is missing`);
    const target = selected(spec.podSelector);
    if (target === undefined || (target !== '*' && !workloads.includes(target))) {
      problems.push(`${where}: podSelector must be {} or app.kubernetes.io/name of one workload in flows.json`);
      continue;
    }
    const types = spec.policyTypes;
    if (target === '*' && types.includes('Ingress') && types.includes('Egress') && !spec.ingress?.length && !spec.egress?.length) defaultDeny = true;
    if (target !== '*' && types.includes('Ingress') && types.includes('Egress')) covered.add(target);
    if (target !== '*' && metadata.name !== target) problems.push(`${where}: a workload's policy is named after it (${target})`);

    for (const [dir, peersKey] of [['ingress', 'from'], ['egress', 'to']]) {
      (spec[dir] ?? []).forEach((rule, i) => {
        const rw = `${where}, ${dir} rule ${i + 1}`;
        const peers = rule[peersKey] ?? [];
        const ports = rule.ports ?? [];
        if (peers.length === 0) return problems.push(`${rw}: no '${peersKey}', so it allows ${dir === 'ingress' ? 'every source' : 'every destination'}`);
        if (ports.length === 0) return problems.push(`${rw}: no 'ports', so it allows every port`);
        for (const p of ports) {
          if (!Number.isInteger(p.port) || p.endPort !== undefined) problems.push(`${rw}: port ${JSON.stringify(p.port)}${p.endPort ? `-${p.endPort}` : ''} must be one number (the one the workload listens on)`);
        }
        for (const peer of peers) {
          const r = resolvePeer(peer, table, workloads);
          if (r.problem) {
            problems.push(`${rw}: ${r.problem}${dir === 'ingress' && (peer.ipBlock || r.problem.includes('every')) ? ' (ingress from everywhere)' : ''}`);
            continue;
          }
          for (const p of ports) {
            if (!Number.isInteger(p.port)) continue;
            const proto = p.protocol ?? 'TCP';
            const k = dir === 'ingress' ? key(dir, r.name, target, p.port, proto) : key(dir, target, r.name, p.port, proto);
            if (dir === 'ingress' && !listening[target]?.includes(p.port)) problems.push(`${rw}: port ${p.port} is not one ${target} listens on (${listening[target]?.join(', ')})`);
            if (!actual.has(k)) actual.set(k, rw);
          }
        }
      });
    }
  }

  if (!defaultDeny) problems.push('manifests: no default deny (podSelector {}, policyTypes Ingress and Egress, no rules)');
  for (const w of workloads) if (!covered.has(w)) problems.push(`manifests: no policy of its own for ${w} (podSelector app.kubernetes.io/name: ${w}, policyTypes Ingress and Egress)`);
  for (const [k, rw] of actual) if (!expected.has(k)) problems.push(`${rw}: allows ${k}, which is not a flow in flows.json`);
  for (const [k, f] of expected) if (!actual.has(k)) problems.push(`flows.json: flow ${f.from} -> ${f.to} ${f.port}/${f.protocol ?? 'TCP'} (${f.why}) is not allowed: no ${k.split(' ')[0]} rule`);

  // The invariants, said once more in plain terms (the flow table could be wrong too).
  for (const k of actual.keys()) {
    const [dir, from, , to] = k.split(' ');
    if (dir === 'egress' && to === 'internet' && !INTERNET_AGENTS.includes(from)) problems.push(`${actual.get(k)}: only ${INTERNET_AGENTS.join(' and ')} may reach the internet, not ${from}`);
    if (dir === 'ingress' && from === 'ingress-controller' && to !== 'gateway') problems.push(`${actual.get(k)}: only the gateway takes traffic from the ingress controller`);
    if (dir === 'ingress' && from === 'internet') problems.push(`${actual.get(k)}: ingress from the internet`);
  }
  for (const proto of ['UDP', 'TCP']) if (!actual.has(key('egress', '*', 'kube-dns', 53, proto))) problems.push(`manifests: DNS (53/${proto} to kube-dns) is not allowed for every pod`);
  return problems;
}

/** The optional files: valid, and none of them opens ingress to everyone or the internet egress to private ranges. */
export function checkOptional(docs) {
  const problems = [];
  for (const { file, doc } of docs) {
    const where = `${file}: ${doc?.kind} ${doc?.metadata?.name ?? '(no name)'}`;
    if (doc?.kind === 'CiliumNetworkPolicy') {
      if (doc.apiVersion !== 'cilium.io/v2') problems.push(`${where}: apiVersion must be cilium.io/v2`);
      const values = doc.spec?.endpointSelector?.matchExpressions?.[0]?.values ?? [];
      if (!sameSet(values, INTERNET_AGENTS)) problems.push(`${where}: must select ${INTERNET_AGENTS.join(' and ')} only`);
      const fqdns = (doc.spec?.egress ?? []).flatMap((r) => r.toFQDNs ?? []).map((f) => f.matchName);
      for (const h of ['api.openai.com', 'api.anthropic.com']) if (!fqdns.includes(h)) problems.push(`${where}: toFQDNs lacks ${h}`);
      continue;
    }
    const shape = validateNetworkPolicy(doc, `${file} (${doc?.metadata?.name ?? '?'})`);
    problems.push(...shape);
    if (shape.length) continue;
    (doc.spec.ingress ?? []).forEach((r, i) => {
      for (const p of r.from ?? []) {
        if (!r.from?.length || (p.ipBlock && v4Range(p.ipBlock.cidr)?.[1] - v4Range(p.ipBlock.cidr)?.[0] > 2 ** 24) || (p.namespaceSelector && selected(p.namespaceSelector) === '*')) {
          problems.push(`${where}, ingress rule ${i + 1}: ingress from everywhere`);
        }
      }
    });
    (doc.spec.egress ?? []).forEach((r, i) => {
      for (const p of r.to ?? []) {
        if (p.ipBlock?.cidr !== '0.0.0.0/0') continue;
        for (const m of MUST_EXCLUDE) if (!(p.ipBlock.except ?? []).some((e) => within(m, e))) problems.push(`${where}, egress rule ${i + 1}: internet egress does not exclude ${m}`);
        if (!(r.ports ?? []).every((x) => x.port === 443)) problems.push(`${where}, egress rule ${i + 1}: internet egress on another port than 443`);
      }
    });
  }
  return problems;
}

// ---------------------------------------------------------------- tests

const table = JSON.parse(readFileSync(join(policyDir, 'flows.json'), 'utf8'));
const loadDir = (dir) => {
  const problems = [];
  const docs = yamlFiles(dir).flatMap((f) => loadYamlDocs(f, problems));
  return { docs, problems };
};
const base = loadDir(join(policyDir, 'manifests'));
const clone = (v) => structuredClone(v);
const byName = (docs, name) => docs.find((d) => d.doc.metadata.name === name).doc;
const check = (docs) => checkPolicySet(docs, table, configuredPorts());

describe('deploy/kubernetes/network-policies', () => {
  test('every manifest parses', () => {
    assert.deepEqual(base.problems, []);
    assert.ok(base.docs.length >= 1 + SERVICES.length, `expected a default deny and one policy per service, found ${base.docs.length} documents`);
  });

  test('the ports in flows.json are the ones the services and infrastructure use', () => {
    const c = configuredPorts();
    assert.deepEqual(c.services, { gateway: 8080, 'session-agent': 8081, 'task-worker': 8082, 'memory-service': 8083, 'audit-service': 8084, 'guard-service': 8085 });
    assert.equal(c.nats, 4222);
    assert.equal(c.redis, 6379);
    assert.equal(c.otlpHttp, 4318);
  });

  test('the policies are valid NetworkPolicies that allow exactly the flows of flows.json', () => {
    const problems = check(base.docs);
    assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
  });

  test('the optional policies are valid and open nothing to everyone', () => {
    const opt = loadDir(join(policyDir, 'optional'));
    assert.deepEqual(opt.problems, []);
    const problems = checkOptional(opt.docs);
    assert.deepEqual(problems, [], `\n${problems.join('\n')}`);
    for (const f of yamlFiles(join(policyDir, 'optional'))) assert.match(readFileSync(f, 'utf8'), /^# OPTIONAL\./, `${relative(root, f)} must start with '# OPTIONAL.'`);
  });
});

describe('the network policy checker', () => {
  test('names file, policy and field of a structural error', () => {
    const docs = clone(base.docs);
    const gw = byName(docs, 'gateway');
    gw.spec.ingress[0].form = gw.spec.ingress[0].from;
    gw.spec.egress[0].ports[0].protocol = 'tcp';
    const problems = check(docs);
    assert.ok(problems.some((p) => /gateway\.yaml \(gateway\)\.spec\.ingress\[0\]: unknown field 'form'/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /gateway\.yaml \(gateway\)\.spec\.egress\[0\]\.ports\[0\]\.protocol: expected TCP, UDP or SCTP/.test(p)), problems.join('\n'));
  });

  test('refuses ingress from everywhere', () => {
    const docs = clone(base.docs);
    byName(docs, 'memory-service').spec.ingress.push({ from: [{ ipBlock: { cidr: '0.0.0.0/0' } }], ports: [{ protocol: 'TCP', port: 8083 }] });
    byName(docs, 'audit-service').spec.ingress.push({ ports: [{ protocol: 'TCP', port: 8084 }] });
    const problems = check(docs);
    assert.ok(problems.some((p) => /memory-service\.yaml: policy memory-service, ingress rule \d+: ipBlock 0\.0\.0\.0\/0 .*ingress from everywhere/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /audit-service\.yaml: policy audit-service, ingress rule \d+: no 'from', so it allows every source/.test(p)), problems.join('\n'));
  });

  test('refuses internet egress for a service other than the agent runtimes, and an exception list without the metadata range', () => {
    const docs = clone(base.docs);
    const internetRule = byName(docs, 'task-worker').spec.egress.find((r) => r.to[0].ipBlock);
    byName(docs, 'guard-service').spec.egress.push(clone(internetRule));
    internetRule.to[0].ipBlock.except = internetRule.to[0].ipBlock.except.filter((e) => e !== '169.254.0.0/16');
    const problems = check(docs);
    assert.ok(problems.some((p) => /guard-service\.yaml: policy guard-service, egress rule \d+: allows egress guard-service -> internet 443\/TCP, which is not a flow/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /only session-agent and task-worker may reach the internet, not guard-service/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /task-worker\.yaml: policy task-worker, egress rule \d+: ipBlock 0\.0\.0\.0\/0 except .* is not a peer/.test(p)), problems.join('\n'));
  });

  test('finds a wrong port, a missing flow, a missing workload policy and a missing default deny', () => {
    const docs = clone(base.docs).filter((d) => d.doc.metadata.name !== 'default-deny' && d.doc.metadata.name !== 'redis');
    byName(docs, 'session-agent').spec.ingress[0].ports[0].port = 8080;
    const problems = check(docs);
    assert.ok(problems.some((p) => /session-agent\.yaml: policy session-agent, ingress rule 1: port 8080 is not one session-agent listens on \(8081\)/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /flows\.json: flow prometheus -> session-agent 8081\/TCP .* is not allowed: no ingress rule/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /no policy of its own for redis/.test(p)), problems.join('\n'));
    assert.ok(problems.some((p) => /no default deny/.test(p)), problems.join('\n'));
  });

  test('finds a flow table whose port differs from the service config', () => {
    const t = clone(table);
    t.services['task-worker'].port = 9999;
    const problems = checkPolicySet(base.docs, t, configuredPorts());
    assert.ok(problems.some((p) => p === 'flows.json: task-worker port 9999, but apps/task-worker/src/config.ts listens on 8082 by default'), problems.join('\n'));
  });
});
