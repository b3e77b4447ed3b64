#!/usr/bin/env node
// Summarises a V8 .cpuprofile: self time by function and by package, and inclusive time of project code.
//   node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--json]
//   node bench/profile-summary.mjs <file.cpuprofile> --callers <function name> [--depth 3]   (who calls it)
// Self time of a sample goes to the frame on top of the stack; inclusive time goes to every distinct frame
// on it. Shares are of busy time: the profile's samples minus (idle).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SPECIAL = new Set(['(root)', '(program)', '(idle)', '(garbage collector)']);

/** Where a frame's code lives: a project folder, an npm package, node's own code, or V8 itself. */
export function packageOf(url, functionName) {
  if (!url) return SPECIAL.has(functionName) ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node (core)';
  const path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = path.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const project = /\/(apps|libs)\/([^/]+)\//.exec(path);
  if (project) return project[1] === 'libs' ? `@keelson/${project[2]}` : `apps/${project[2]}`;
  return '(other)';
}

/** A short, stable location: the path from apps/, libs/ or the package on, and the 1-based line. */
export function shortLocation(url, lineNumber) {
  if (!url) return '';
  let path = url.replace(/^file:\/\//, '');
  const nm = path.lastIndexOf('/node_modules/');
  if (nm >= 0) path = path.slice(nm + '/node_modules/'.length);
  else {
    const project = path.search(/\/(apps|libs|bench|e2e)\//);
    if (project >= 0) path = path.slice(project + 1);
  }
  return `${path}:${lineNumber + 1}`;
}

export function summarizeProfile(profile, { top = 25 } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => {
    const f = n.callFrame;
    const name = f.functionName || '(anonymous)';
    return f.url ? `${name} ${shortLocation(f.url, f.lineNumber)}` : name;
  };

  // Time of each sample: the delta to the next sample (the last one gets the mean interval).
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  const sampleUs = new Float64Array(samples.length);
  const totalSpan = (profile.endTime ?? 0) - (profile.startTime ?? 0);
  for (let i = 0; i < samples.length; i++) sampleUs[i] = i + 1 < deltas.length ? Math.max(0, deltas[i + 1]) : totalSpan / Math.max(1, samples.length);

  const self = new Map();
  const selfPkg = new Map();
  const incl = new Map();
  const inclPkg = new Map();
  let totalUs = 0;
  let idleUs = 0;
  const add = (m, k, v) => m.set(k, (m.get(k) ?? 0) + v);
  for (let i = 0; i < samples.length; i++) {
    const leaf = nodes.get(samples[i]);
    if (!leaf) continue;
    const us = sampleUs[i];
    totalUs += us;
    if (leaf.callFrame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    add(self, keyOf(leaf), us);
    add(selfPkg, packageOf(leaf.callFrame.url, leaf.callFrame.functionName), us);
    const seenKeys = new Set();
    const seenPkgs = new Set();
    for (let id = samples[i]; id !== undefined; id = parent.get(id)) {
      const n = nodes.get(id);
      if (n.callFrame.functionName === '(root)') break;
      const k = keyOf(n);
      if (!seenKeys.has(k)) {
        seenKeys.add(k);
        add(incl, k, us);
      }
      const p = packageOf(n.callFrame.url, n.callFrame.functionName);
      if (!seenPkgs.has(p)) {
        seenPkgs.add(p);
        add(inclPkg, p, us);
      }
    }
  }
  const busyUs = totalUs - idleUs;
  const rows = (m, filter = () => true, n = top) =>
    [...m.entries()]
      .filter(([k]) => filter(k))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1000), pctOfBusy: Math.round((1000 * us) / busyUs) / 10 }));
  const isProject = (k) => / (apps|libs)\//.test(k);
  return {
    sampledMs: Math.round(totalUs / 1000),
    busyMs: Math.round(busyUs / 1000),
    idleMs: Math.round(idleUs / 1000),
    samples: samples.length,
    selfByFunction: rows(self),
    selfByPackage: rows(selfPkg, () => true, 20),
    inclusiveByPackage: rows(inclPkg, () => true, 20),
    inclusiveProjectFunctions: rows(incl, isProject),
  };
}

/**
 * Who calls the frames whose key contains `needle`: their self time grouped by the chain of `depth`
 * callers above them (the first caller that is not itself a match).
 */
export function callersOf(profile, needle, { depth = 3, top = 10 } = {}) {
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const keyOf = (n) => {
    const f = n.callFrame;
    const name = f.functionName || '(anonymous)';
    return f.url ? `${name} ${shortLocation(f.url, f.lineNumber)}` : name;
  };
  const deltas = profile.timeDeltas ?? [];
  const byChain = new Map();
  let total = 0;
  (profile.samples ?? []).forEach((id, i) => {
    const leaf = nodes.get(id);
    if (!leaf || !keyOf(leaf).includes(needle)) return;
    const us = i + 1 < deltas.length ? Math.max(0, deltas[i + 1]) : 0;
    total += us;
    const chain = [];
    for (let p = parent.get(id); p !== undefined && chain.length < depth; p = parent.get(p)) {
      const k = keyOf(nodes.get(p));
      if (k === '(root)') break;
      if (!k.includes(needle)) chain.push(k);
    }
    const key = chain.join(' <- ') || '(top)';
    byChain.set(key, (byChain.get(key) ?? 0) + us);
  });
  return {
    needle,
    ms: Math.round(total / 1000),
    callers: [...byChain.entries()].sort((a, b) => b[1] - a[1]).slice(0, top).map(([chain, us]) => ({ chain, ms: Math.round(us / 1000) })),
  };
}

export function formatSummary(summary, title = 'CPU profile') {
  const lines = [];
  lines.push(`${title}: ${summary.busyMs} ms busy of ${summary.sampledMs} ms sampled (${summary.samples} samples); shares are of busy time`);
  const table = (heading, rows) => {
    lines.push('', heading);
    for (const r of rows) lines.push(`  ${String(r.pctOfBusy.toFixed(1)).padStart(5)}%  ${String(r.ms).padStart(6)} ms  ${r.name}`);
  };
  table('self time by function', summary.selfByFunction);
  table('self time by package', summary.selfByPackage);
  table('inclusive time by package (time with a frame of the package on the stack)', summary.inclusiveByPackage);
  table('inclusive time of project functions (apps/, libs/)', summary.inclusiveProjectFunctions);
  return lines.join('\n');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const file = args.find((a, i) => !a.startsWith('--') && !['--top', '--callers', '--depth'].includes(args[i - 1]));
  if (!file) {
    console.error('usage: node bench/profile-summary.mjs <file.cpuprofile> [--top 25] [--json] [--callers <name> [--depth 3]]');
    process.exit(2);
  }
  const valueOf = (flag) => (args.indexOf(flag) >= 0 ? args[args.indexOf(flag) + 1] : undefined);
  const top = Number(valueOf('--top') ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const needle = valueOf('--callers');
  if (needle !== undefined) {
    const c = callersOf(profile, needle, { depth: Number(valueOf('--depth') ?? 3), top });
    console.log(`${c.ms} ms of self time in frames matching "${c.needle}", by caller chain:`);
    for (const row of c.callers) console.log(`  ${String(row.ms).padStart(6)} ms  ${row.chain}`);
  } else {
    const summary = summarizeProfile(profile, { top });
    console.log(args.includes('--json') ? JSON.stringify(summary, null, 2) : formatSummary(summary, file));
  }
}
