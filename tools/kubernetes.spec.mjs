// deploy/kubernetes, rendered and checked offline, no cluster. Run:
//   node --test tools/kubernetes.spec.mjs
//
// 1. Render: every overlay (dev, staging, production) with `kubectl kustomize`, and every component on top of
//    the base in a temporary copy (secret-files with placeholder files there, never in the repository).
// 2. Schema: every rendered document against the Kubernetes API types of the `kubernetes-models` package
//    (4.x: the official OpenAPI definitions compiled to validators, Kubernetes 1.31; 5.x needs Node 22). Two
//    passes: its ajv validators (types, required fields, enums, formats), then the same definitions as
//    TypeScript types, through the TypeScript compiler's excess-property check, which refuses unknown fields
//    at any depth (the validators alone accept them, as the API server would drop them silently).
//    ServiceMonitor (a Prometheus Operator CRD) gets a strict structural check written here.
// 3. Semantics: probes, resources, a non-root read-only security context, a ServiceAccount without a token,
//    a NetworkPolicy, a PodDisruptionBudget and replicas per environment; JETSTREAM_REPLICAS=3 in production;
//    every environment variable a setting the service knows (its built config schema, apps/<name>/dist/config.js),
//    and the whole environment accepted by that schema; no Secret with data in the repository; pinned images.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments } from 'yaml';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const k8sDir = join(root, 'deploy', 'kubernetes');
const SERVICES = ['gateway', 'session-agent', 'task-worker', 'memory-service', 'audit-service', 'guard-service'];
const OVERLAYS = ['dev', 'staging', 'production'];
const COMPONENTS = ['network-policies', 'availability', 'queue-depth-hpa', 'managed-stores', 'vault', 'service-monitors', 'nats-cluster', 'secret-files'];
const NAME = 'app.kubernetes.io/name';
/** The files components/secret-files turns into Secrets (placeholders in the test's copy). */
const SECRET_FILES = ['api-keys.json', 'redis-password', 'openai-api-key', 'anthropic-api-key', 'object-store-access-key', 'object-store-secret-key', 'mongodb-password', 'nats-server.conf', ...SERVICES.map((s) => `nats-${s}.nk`)];
/** Secrets something else provides: the ingress TLS certificate (cert-manager or your own). */
const EXTERNAL_SECRETS = new Set(['keelson-gateway-tls']);
/** Read by the process outside the config schema (OpenTelemetry SDK, the production check), or being added. */
const EXTRA_SETTINGS = new Set(['OTEL_SERVICE_NAME', 'OTEL_SDK_DISABLED', 'KEELSON_ENV', 'JETSTREAM_REPLICAS']);
const SCHEMAS = {
  gateway: 'gatewayConfigSchema',
  'session-agent': 'sessionAgentConfigSchema',
  'task-worker': 'taskWorkerConfigSchema',
  'memory-service': 'memoryServiceConfigSchema',
  'audit-service': 'auditServiceConfigSchema',
  'guard-service': 'guardServiceConfigSchema',
};

// ---------------------------------------------------------------- kubectl

/** kubectl with a kustomize that knows components (v3.7+, kubectl 1.21+), or why there is none. */
function findKubectl() {
  const probe = () => spawnSync('kubectl', ['version', '--client', '-o', 'json'], { encoding: 'utf8' });
  let r = probe();
  if (r.error && process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    spawnSync('bash', ['-c', 'DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends kubectl'], { stdio: 'ignore' });
    r = probe();
  }
  if (r.error) return { reason: 'kubectl is not installed and could not be installed (as root: apt-get install kubectl; see tools/scripts/ensure-deps.sh)' };
  const v = JSON.parse(r.stdout);
  const minor = Number(String(v.clientVersion?.minor ?? '0').replace(/\D.*/, ''));
  if (minor < 21) return { reason: `kubectl ${v.clientVersion?.gitVersion} is too old: its kustomize has no components (needs kubectl 1.21+)` };
  return { version: `${v.clientVersion?.gitVersion}, kustomize ${v.kustomizeVersion}` };
}

const kustomize = (dir) => execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

function parseDocs(text, where) {
  return parseAllDocuments(text).flatMap((d) => {
    if (d.errors.length) throw new Error(`${where}: YAML error: ${d.errors[0].message}`);
    return d.contents === null ? [] : [d.toJS()];
  });
}

// ---------------------------------------------------------------- schema

/** kubernetes-models module path of an apiVersion/kind: core `v1/Service`, `apps/v1/Deployment`. */
function modelPath(apiVersion, kind) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  return group ? `${group}/${version}/${kind}` : `${version}/${kind}`;
}

const SERVICE_MONITOR_FIELDS = {
  top: ['apiVersion', 'kind', 'metadata', 'spec'],
  spec: ['selector', 'endpoints', 'namespaceSelector', 'jobLabel', 'targetLabels', 'podTargetLabels', 'sampleLimit'],
  endpoint: ['port', 'targetPort', 'path', 'scheme', 'interval', 'scrapeTimeout', 'honorLabels', 'relabelings', 'metricRelabelings', 'params'],
};

/** Problems of one document by the ajv validators (or the ServiceMonitor check), as strings. */
export function validateWithModels(doc) {
  if (!doc?.apiVersion || !doc?.kind) return ['missing apiVersion or kind'];
  if (doc.kind === 'ServiceMonitor') {
    const p = [];
    if (doc.apiVersion !== 'monitoring.coreos.com/v1') p.push(`apiVersion ${doc.apiVersion}`);
    for (const k of Object.keys(doc)) if (!SERVICE_MONITOR_FIELDS.top.includes(k)) p.push(`unknown field ${k}`);
    for (const k of Object.keys(doc.spec ?? {})) if (!SERVICE_MONITOR_FIELDS.spec.includes(k)) p.push(`unknown field spec.${k}`);
    if (!doc.spec?.selector?.matchLabels) p.push('spec.selector.matchLabels missing');
    if (!Array.isArray(doc.spec?.endpoints) || doc.spec.endpoints.length === 0) p.push('spec.endpoints missing');
    for (const e of doc.spec?.endpoints ?? []) for (const k of Object.keys(e)) if (!SERVICE_MONITOR_FIELDS.endpoint.includes(k)) p.push(`unknown field spec.endpoints[].${k}`);
    return p;
  }
  let mod;
  try {
    mod = require(`kubernetes-models/${modelPath(doc.apiVersion, doc.kind)}`);
  } catch {
    return [`no Kubernetes schema for ${doc.apiVersion} ${doc.kind}`];
  }
  try {
    new mod[doc.kind](doc).validate();
    return [];
  } catch (e) {
    return [String(e.message ?? e)];
  }
}

/**
 * Unknown fields anywhere in the documents: each becomes `const dN: I<Kind> = <json>` in one virtual
 * TypeScript file, and the compiler's excess-property check names every field the type does not have.
 * Returns the problems per document index.
 */
export function unknownFields(docs) {
  const ts = require('typescript');
  const modelsDir = dirname(require.resolve('kubernetes-models/package.json'));
  const lines = [];
  const starts = [];
  docs.forEach((doc, i) => {
    if (!doc?.apiVersion || doc.kind === 'ServiceMonitor') return;
    const file = join(modelsDir, modelPath(doc.apiVersion, doc.kind));
    if (!existsSync(`${file}.d.ts`)) return;
    lines.push(`import type { I${doc.kind} as T${i} } from ${JSON.stringify(file)};`);
  });
  const header = lines.length;
  docs.forEach((doc, i) => {
    if (!lines.some((l) => l.includes(` as T${i} }`))) return;
    starts.push({ line: lines.length, index: i });
    lines.push(...`export const d${i}: T${i} = ${JSON.stringify(doc, null, 1)};`.split('\n'));
  });
  const fileName = join(modelsDir, '__keelson_check__.ts');
  const source = lines.join('\n');
  const options = { strict: true, noEmit: true, skipLibCheck: true, moduleResolution: ts.ModuleResolutionKind.Bundler, module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022, types: [] };
  const host = ts.createCompilerHost(options);
  const orig = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) => (name === fileName ? ts.createSourceFile(name, source, lang) : orig(name, lang, ...rest));
  const fileExists = host.fileExists.bind(host);
  host.fileExists = (name) => name === fileName || fileExists(name);
  const program = ts.createProgram([fileName], options, host);
  const problems = new Map();
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (!d.file || d.file.fileName !== fileName) {
      problems.set(-1, [...(problems.get(-1) ?? []), message]);
      continue;
    }
    const { line } = d.file.getLineAndCharacterOfPosition(d.start ?? 0);
    const owner = line < header ? undefined : [...starts].reverse().find((s) => s.line <= line);
    const key = owner ? owner.index : -1;
    problems.set(key, [...(problems.get(key) ?? []), `${message} (${lines[line]?.trim().slice(0, 80)})`]);
  }
  return problems;
}

// ---------------------------------------------------------------- semantics

const byKind = (docs, kind) => docs.filter((d) => d.kind === kind);
const selects = (selector, labels) => Object.entries(selector?.matchLabels ?? {}).every(([k, v]) => labels?.[k] === v) && Object.keys(selector?.matchLabels ?? {}).length > 0;

/** The environment a Deployment's container sees: its ConfigMaps (envFrom) then `env`. */
export function containerEnv(docs, container) {
  const env = {};
  for (const from of container.envFrom ?? []) {
    const cm = byKind(docs, 'ConfigMap').find((c) => c.metadata.name === from.configMapRef?.name);
    if (!cm) throw new Error(`envFrom names ConfigMap ${from.configMapRef?.name ?? from.secretRef?.name}, which is not rendered`);
    Object.assign(env, cm.data);
  }
  for (const e of container.env ?? []) env[e.name] = e.value ?? '(valueFrom)';
  return env;
}

function configSchema(service) {
  const file = join(root, 'apps', service, 'dist', 'config.js');
  if (!existsSync(file)) throw new Error(`${relative(root, file)} is missing: build first (npx tsc -b)`);
  return require(file)[SCHEMAS[service]];
}

/** Problems with one rendered environment, as strings naming the object and what is wrong. */
export function semanticProblems(docs, overlay) {
  const p = [];
  const deployments = byKind(docs, 'Deployment');
  const names = deployments.map((d) => d.metadata.name).sort();
  if (JSON.stringify(names) !== JSON.stringify([...SERVICES].sort())) p.push(`Deployments are ${names.join(', ')}; expected the six services`);
  if (byKind(docs, 'Secret').some((s) => s.data || s.stringData)) p.push('a Secret with data is rendered: secrets come from the cluster (kubectl create secret, External Secrets, Vault), never from the repository');
  const pods = deployments.map((d) => d.spec.template);
  const shared = {};
  for (const d of deployments) {
    const name = d.metadata.name;
    const at = `${overlay}: Deployment ${name}`;
    const spec = d.spec.template.spec;
    const labels = d.spec.template.metadata?.labels ?? {};
    if (labels[NAME] !== name || labels['app.kubernetes.io/part-of'] !== 'keelson') p.push(`${at}: pod labels must carry ${NAME}=${name} and app.kubernetes.io/part-of=keelson (the NetworkPolicies select on them)`);
    if (spec.containers.length !== 1) p.push(`${at}: one container expected`);
    const c = spec.containers[0];
    if (!/^ghcr\.io\/keelson\/[a-z-]+:(?!latest$)[\w][\w.-]*$/.test(c.image) || !c.image.startsWith(`ghcr.io/keelson/${name}:`)) p.push(`${at}: image ${c.image} must be ghcr.io/keelson/${name} pinned to a tag (not latest)`);
    for (const [probe, path] of [['livenessProbe', '/healthz'], ['readinessProbe', '/readyz'], ['startupProbe', '/healthz']]) {
      if (c[probe]?.httpGet?.path !== path) p.push(`${at}: ${probe} must GET ${path}`);
    }
    for (const kind of ['requests', 'limits']) for (const r of ['cpu', 'memory']) if (!c.resources?.[kind]?.[r]) p.push(`${at}: resources.${kind}.${r} missing`);
    const psc = spec.securityContext ?? {};
    const csc = c.securityContext ?? {};
    if (!(psc.runAsNonRoot || csc.runAsNonRoot)) p.push(`${at}: runAsNonRoot missing`);
    if (csc.readOnlyRootFilesystem !== true) p.push(`${at}: readOnlyRootFilesystem must be true`);
    if (csc.allowPrivilegeEscalation !== false) p.push(`${at}: allowPrivilegeEscalation must be false`);
    if (!csc.capabilities?.drop?.includes('ALL')) p.push(`${at}: capabilities must drop ALL`);
    if ((csc.seccompProfile ?? psc.seccompProfile)?.type !== 'RuntimeDefault') p.push(`${at}: seccompProfile RuntimeDefault missing`);
    const tmp = (c.volumeMounts ?? []).find((m) => m.mountPath === '/tmp');
    if (!tmp || !spec.volumes?.find((v) => v.name === tmp.name)?.emptyDir) p.push(`${at}: /tmp must be an emptyDir (read-only root filesystem)`);
    if (!c.lifecycle?.preStop) p.push(`${at}: preStop missing (endpoint removal before SIGTERM)`);
    const sa = byKind(docs, 'ServiceAccount').find((s) => s.metadata.name === spec.serviceAccountName);
    if (!sa || spec.serviceAccountName !== name) p.push(`${at}: its own ServiceAccount ${name} must be rendered and used`);
    else if (sa.automountServiceAccountToken !== false || spec.automountServiceAccountToken !== false) p.push(`${at}: the service account token must not be mounted automatically (automountServiceAccountToken: false)`);
    if (!byKind(docs, 'NetworkPolicy').some((np) => selects(np.spec.podSelector, labels))) p.push(`${at}: no NetworkPolicy selects its pods`);
    if (!byKind(docs, 'NetworkPolicy').some((np) => np.metadata.name === 'default-deny')) p.push(`${overlay}: default-deny NetworkPolicy missing`);
    // Every secret file a setting names lies in a mounted volume.
    let env;
    try {
      env = containerEnv(docs, c);
    } catch (e) {
      p.push(`${at}: ${e.message}`);
      continue;
    }
    for (const [k, v] of Object.entries(env)) {
      if (k.endsWith('_FILE') && !(c.volumeMounts ?? []).some((m) => v.startsWith(`${m.mountPath}/`))) p.push(`${at}: ${k}=${v} is not in a mounted volume`);
      if (/_(KEY|PASSWORD|SECRET|TOKEN)$/.test(k)) p.push(`${at}: ${k} would carry a secret in the environment`);
    }
    // Names and values the service accepts.
    const schema = configSchema(name);
    const known = new Set([...Object.keys(schema.shape ?? schema._def?.schema?.shape ?? {}), ...EXTRA_SETTINGS]);
    for (const k of Object.keys(env)) if (!known.has(k)) p.push(`${at}: ${k} is not a setting ${name} knows`);
    const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([k]) => !EXTRA_SETTINGS.has(k) || schema.shape?.[k])));
    if (!parsed.success) p.push(`${at}: its environment is refused by ${name}'s config: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`);
    for (const k of ['SESSION_TTL_SECONDS', 'SESSION_MAX_MESSAGES', 'TASK_TTL_SECONDS']) if (k in env) (shared[k] ??= new Set()).add(env[k]);
    // A turn or run in hand finishes before the pod is killed.
    if (name === 'session-agent' || name === 'task-worker' || name === 'gateway') {
      const gw = deployments.find((x) => x.metadata.name === 'gateway');
      const turnMs = Number(containerEnv(docs, gw.spec.template.spec.containers[0]).TURN_TIMEOUT_MS ?? 60000);
      const need = Math.ceil(turnMs / 1000) + (c.lifecycle?.preStop?.sleep?.seconds ?? 0);
      if ((spec.terminationGracePeriodSeconds ?? 30) < need) p.push(`${at}: terminationGracePeriodSeconds ${spec.terminationGracePeriodSeconds} is shorter than TURN_TIMEOUT_MS plus the preStop delay (${need} s)`);
    }
    if (d.spec.strategy?.rollingUpdate?.maxUnavailable !== 0) p.push(`${at}: rolling updates must keep every replica until its successor is ready (maxUnavailable 0)`);
    if (overlay === 'production' && env.JETSTREAM_REPLICAS !== '3') p.push(`${at}: JETSTREAM_REPLICAS must be 3 in production (got ${env.JETSTREAM_REPLICAS ?? 'unset'})`);
    // Replicas, autoscaling and disruption budgets per environment.
    const hpa = byKind(docs, 'HorizontalPodAutoscaler').find((h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === name);
    const replicas = hpa ? hpa.spec.minReplicas ?? 1 : d.spec.replicas ?? 1;
    if (hpa && d.spec.replicas !== undefined) p.push(`${at}: has replicas although HPA ${hpa.metadata.name} owns the count`);
    const pdb = byKind(docs, 'PodDisruptionBudget').find((b) => selects(b.spec.selector, labels));
    if (overlay === 'dev') {
      if (replicas !== 1 || hpa) p.push(`${at}: dev runs one replica without autoscaling`);
    } else {
      if (!pdb) p.push(`${at}: no PodDisruptionBudget`);
      if (replicas < 2) p.push(`${at}: ${replicas} replica(s); ${overlay} needs at least 2`);
      if (['gateway', 'session-agent', 'task-worker'].includes(name) && !hpa) p.push(`${at}: no HorizontalPodAutoscaler`);
      if (overlay === 'production' && name === 'gateway' && replicas < 3) p.push(`${at}: production runs at least 3 gateways`);
      if (pdb && pdb.spec.minAvailable !== undefined && typeof pdb.spec.minAvailable === 'number' && pdb.spec.minAvailable >= replicas) p.push(`${at}: PDB minAvailable ${pdb.spec.minAvailable} >= replicas ${replicas} blocks every drain`);
    }
    // Service port = container port = the port the config listens on.
    const port = Number(env.PORT ?? env.HEALTH_PORT);
    if (c.ports?.[0]?.containerPort !== port) p.push(`${at}: containerPort ${c.ports?.[0]?.containerPort} differs from the configured port ${port}`);
    const svc = byKind(docs, 'Service').find((s) => s.metadata.name === name);
    if (!svc || !selects({ matchLabels: svc.spec.selector }, labels)) p.push(`${at}: no Service selects it`);
  }
  for (const [k, values] of Object.entries(shared)) if (values.size > 1) p.push(`${overlay}: ${k} differs between the gateway and the workers (${[...values].join(' vs ')})`);
  for (const hpa of byKind(docs, 'HorizontalPodAutoscaler')) {
    if (!deployments.some((d) => d.metadata.name === hpa.spec.scaleTargetRef.name)) p.push(`${overlay}: HPA ${hpa.metadata.name} targets nothing`);
  }
  for (const pdb of byKind(docs, 'PodDisruptionBudget')) {
    if (!pods.some((t) => selects(pdb.spec.selector, t.metadata.labels)) && !docs.some((x) => x.kind === 'StatefulSet' && selects(pdb.spec.selector, x.spec.template.metadata.labels))) p.push(`${overlay}: PDB ${pdb.metadata.name} selects no pods`);
  }
  for (const d of docs) if (d.kind !== 'Namespace' && d.metadata?.namespace !== 'keelson') p.push(`${overlay}: ${d.kind} ${d.metadata?.name} is not in namespace keelson`);
  return p;
}

// ---------------------------------------------------------------- repository checks

function yamlFilesUnder(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return yamlFilesUnder(path);
    return /\.ya?ml$/.test(e.name) ? [path] : [];
  });
}

// ---------------------------------------------------------------- tests

const kubectl = findKubectl();
const skip = kubectl.reason ? `skipped: ${kubectl.reason}` : false;
if (skip) console.log(`# deploy/kubernetes: ${skip}`);

describe('deploy/kubernetes', () => {
  const rendered = {};
  let scratch;
  before(() => {
    if (skip) return;
    for (const o of OVERLAYS) rendered[o] = parseDocs(kustomize(join(k8sDir, 'overlays', o)), `overlays/${o}`);
    // Every component on the base, in a copy (secret-files needs its git-ignored files: placeholders here).
    scratch = mkdtempSync(join(tmpdir(), 'keelson-k8s-'));
    cpSync(k8sDir, join(scratch, 'kubernetes'), { recursive: true });
    const files = join(scratch, 'kubernetes', 'components', 'secret-files', 'files');
    for (const f of SECRET_FILES) writeFileSync(join(files, f), 'placeholder\n');
    const all = join(scratch, 'kubernetes', 'overlays', 'all-components');
    cpSync(join(k8sDir, 'overlays', 'production'), all, { recursive: true });
    const k = readFileSync(join(all, 'kustomization.yaml'), 'utf8').replace(/components:\n(  - .*\n)+/, `components:\n${COMPONENTS.map((c) => `  - ../../components/${c}\n`).join('')}`);
    writeFileSync(join(all, 'kustomization.yaml'), k);
    rendered['all-components'] = parseDocs(kustomize(all), 'all components');
  });
  after(() => scratch && rmSync(scratch, { recursive: true, force: true }));

  test(`renders every overlay and every component (${kubectl.version ?? 'no kubectl'})`, { skip }, () => {
    for (const [name, docs] of Object.entries(rendered)) assert.ok(docs.length > 20, `${name} rendered only ${docs.length} documents`);
    const all = rendered['all-components'];
    for (const kind of ['StatefulSet', 'ServiceMonitor', 'Secret', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'NetworkPolicy']) assert.ok(all.some((d) => d.kind === kind), `all components: no ${kind} rendered`);
    // Every Secret an overlay mounts is one secret-files can generate (so the README's list is complete).
    const generated = new Set(all.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name));
    for (const o of OVERLAYS) {
      for (const d of rendered[o]) {
        const pod = d.spec?.template?.spec;
        const names = [...(pod?.volumes ?? []).map((v) => v.secret?.secretName), ...(d.spec?.tls ?? []).map((t) => t.secretName)].filter(Boolean);
        for (const n of names) assert.ok(generated.has(n) || EXTERNAL_SECRETS.has(n), `${o}: ${d.kind} ${d.metadata.name} mounts Secret ${n}, which components/secret-files does not generate`);
      }
    }
  });

  test('every rendered document is valid against the Kubernetes schema (unknown fields refused)', { skip }, () => {
    const problems = [];
    let count = 0;
    for (const [name, docs] of Object.entries(rendered)) {
      docs.forEach((d) => {
        count++;
        for (const m of validateWithModels(d)) problems.push(`${name}: ${d.kind} ${d.metadata?.name}: ${m}`);
      });
      for (const [i, ms] of unknownFields(docs)) for (const m of ms) problems.push(`${name}: ${i < 0 ? '(checker)' : `${docs[i].kind} ${docs[i].metadata?.name}`}: ${m}`);
    }
    assert.deepEqual(problems, [], problems.join('\n'));
    console.log(`# ${count} documents validated (${Object.keys(rendered).join(', ')})`);
  });

  for (const overlay of OVERLAYS) {
    test(`${overlay}: every Deployment has probes, resources, a locked-down security context, its ServiceAccount, a NetworkPolicy, settings its service knows${overlay === 'dev' ? '' : ', a PDB and 2+ replicas'}`, { skip }, () => {
      const problems = semanticProblems(rendered[overlay], overlay);
      assert.deepEqual(problems, [], problems.join('\n'));
    });
  }

  test('the vault component swaps secret files for vault: references and gives a projected token', { skip }, () => {
    const docs = rendered['all-components'];
    const problems = semanticProblems(docs.filter((d) => d.kind !== 'Secret'), 'all-components');
    assert.deepEqual(problems, [], problems.join('\n'));
    for (const name of ['session-agent', 'task-worker']) {
      const d = docs.find((x) => x.kind === 'Deployment' && x.metadata.name === name);
      const env = containerEnv(docs, d.spec.template.spec.containers[0]);
      assert.match(env.OPENAI_API_KEY_REF ?? '', /^vault:/, `${name}: OPENAI_API_KEY_REF`);
      assert.equal(env.OPENAI_API_KEY_FILE, undefined, `${name}: OPENAI_API_KEY_FILE and _REF at once is refused`);
      assert.ok(env.VAULT_ADDR && env.VAULT_KUBERNETES_ROLE, `${name}: VAULT_ADDR and VAULT_KUBERNETES_ROLE`);
      const token = d.spec.template.spec.volumes.find((v) => v.name === 'vault-token');
      assert.equal(token?.projected?.sources?.[0]?.serviceAccountToken?.audience, 'vault');
    }
  });

  test('the queue-depth component scales task-worker on the JetStream backlog', { skip }, () => {
    const hpa = rendered.production.find((d) => d.kind === 'HorizontalPodAutoscaler' && d.metadata.name === 'task-worker');
    assert.ok(hpa.spec.metrics.some((m) => m.type === 'External' && m.external.metric.selector.matchLabels.consumer === 'task-worker'));
  });

  test('the NetworkPolicies are byte-identical copies of network-policies/manifests, all of them', () => {
    const src = join(k8sDir, 'network-policies', 'manifests');
    const copy = join(k8sDir, 'components', 'network-policies');
    const listed = readFileSync(join(copy, 'kustomization.yaml'), 'utf8');
    for (const f of readdirSync(src).filter((n) => n.endsWith('.yaml'))) {
      assert.ok(existsSync(join(copy, f)), `components/network-policies/${f} is missing: cp deploy/kubernetes/network-policies/manifests/*.yaml deploy/kubernetes/components/network-policies/`);
      assert.equal(readFileSync(join(copy, f), 'utf8'), readFileSync(join(src, f), 'utf8'), `components/network-policies/${f} differs from network-policies/manifests/${f}: copy it again`);
      assert.ok(listed.includes(`  - ${f}\n`), `components/network-policies/kustomization.yaml does not list ${f}`);
    }
  });

  test('no Secret with data anywhere in deploy/kubernetes, and the secret files directory is git-ignored', () => {
    for (const file of yamlFilesUnder(k8sDir)) {
      for (const d of parseAllDocuments(readFileSync(file, 'utf8'))) {
        const doc = d.toJS();
        assert.ok(!(doc?.kind === 'Secret' && (doc.data || doc.stringData)), `${relative(root, file)}: a Secret with data`);
      }
    }
    const ignore = spawnSync('git', ['check-ignore', '-q', 'deploy/kubernetes/components/secret-files/files/openai-api-key'], { cwd: root });
    assert.equal(ignore.status, 0, 'components/secret-files/files/ must be git-ignored');
  });

  test('the checker refuses what it should (unknown field, missing probe, unknown setting, latest image)', { skip }, () => {
    const docs = structuredClone(rendered.production);
    const d = docs.find((x) => x.kind === 'Deployment' && x.metadata.name === 'gateway');
    d.spec.template.spec.containers[0].imagePullPolicyy = 'Always';
    d.spec.template.spec.containers[0].image = 'ghcr.io/keelson/gateway:latest';
    delete d.spec.template.spec.containers[0].readinessProbe;
    d.spec.template.spec.containers[0].env.push({ name: 'NOT_A_SETTING', value: '1' });
    const unknown = [...unknownFields([d]).values()].flat().join('\n');
    assert.match(unknown, /imagePullPolicyy/);
    const problems = semanticProblems(docs, 'production').join('\n');
    assert.match(problems, /readinessProbe must GET \/readyz/);
    assert.match(problems, /NOT_A_SETTING is not a setting gateway knows/);
    assert.match(problems, /pinned to a tag \(not latest\)/);
    const bad = validateWithModels({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'x' }, spec: { replicas: 'two' } });
    assert.ok(bad.length > 0, 'a wrong type passes the schema');
  });
});
