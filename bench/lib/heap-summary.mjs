#!/usr/bin/env node
// Summarises a V8 .heapsnapshot (as written by the census preload of bench/mesh-memory.mjs): self size by
// node type, the biggest constructors, and how much is source text and source maps. No retainer analysis:
// enough to tell code and module text from data.
// Usage: node bench/lib/heap-summary.mjs <file.heapsnapshot> [--top 15]
import { readFileSync } from 'node:fs';

const file = process.argv[2];
const topArg = process.argv.indexOf('--top');
const TOP = topArg > 0 ? Number(process.argv[topArg + 1]) : 15;
const snap = JSON.parse(readFileSync(file, 'utf8'));
const { node_fields: fields, node_types: [types] } = snap.snapshot.meta;
const width = fields.length;
const [typeAt, nameAt, sizeAt] = ['type', 'name', 'self_size'].map((f) => fields.indexOf(f));
const nodes = snap.nodes;
const strings = snap.strings;

const MB = 1024 * 1024;
const byType = new Map();
const byName = new Map();
let total = 0;
let sourceMapText = 0;
let moduleText = 0;
for (let i = 0; i < nodes.length; i += width) {
  const type = types[nodes[i + typeAt]];
  const name = strings[nodes[i + nameAt]];
  const size = nodes[i + sizeAt];
  total += size;
  byType.set(type, (byType.get(type) ?? 0) + size);
  const key = type === 'object' || type === 'closure' || type === 'code' || type === 'hidden' ? `${type}:${name.slice(0, 60)}` : type;
  byName.set(key, (byName.get(key) ?? 0) + size);
  if (type === 'string' && size > 1024) {
    if (name.startsWith('{"version":3')) sourceMapText += size;
    else if (/^(?:"use strict"|\/\/|\/\*|Object\.defineProperty\(exports)/.test(name)) moduleText += size;
  }
}
const mb = (n) => Math.round((n / MB) * 10) / 10;
const top = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP).map(([k, v]) => ({ what: k, MB: mb(v) }));
console.log(
  JSON.stringify(
    { file, totalMB: mb(total), byType: top(byType), biggest: top(byName), sourceMapStringsMB: mb(sourceMapText), moduleSourceStringsMB: mb(moduleText) },
    null,
    1,
  ),
);
