// Preloaded (NODE_OPTIONS=--require) by `bench/mesh-memory.mjs --census` into every service. On SIGUSR2 it
// writes which modules the process has loaded, grouped by package, to $KEELSON_CENSUS_DIR/<service>.json,
// and with KEELSON_CENSUS_HEAP=1 also a V8 heap snapshot next to it. A signal, not a timer, so the bench
// decides when "at rest" is. Only for measuring: it is never loaded in normal runs.
'use strict';
const { writeFileSync, statSync } = require('node:fs');
const { join, sep } = require('node:path');
const v8 = require('node:v8');

const dir = process.env.KEELSON_CENSUS_DIR;
const name = process.env.SERVICE_NAME || `pid-${process.pid}`;

/** `node_modules/@scope/pkg/...` -> `@scope/pkg`; our own code -> `keelson:<libs|apps>/<name>`. */
function packageOf(file) {
  const parts = file.split(sep);
  const nm = parts.lastIndexOf('node_modules');
  if (nm >= 0) return parts[nm + 1].startsWith('@') ? `${parts[nm + 1]}/${parts[nm + 2]}` : parts[nm + 1];
  const at = parts.findIndex((p) => p === 'libs' || p === 'apps');
  return at >= 0 ? `keelson:${parts[at]}/${parts[at + 1]}` : 'other';
}

function census() {
  const packages = {};
  const files = Object.keys(require.cache);
  for (const file of files) {
    const pkg = packageOf(file);
    const entry = (packages[pkg] ??= { modules: 0, sourceBytes: 0 });
    entry.modules++;
    try {
      entry.sourceBytes += statSync(file).size;
    } catch {
      // a module without a file on disk (none expected): counted, size unknown
    }
  }
  const sorted = Object.entries(packages).sort((a, b) => b[1].sourceBytes - a[1].sourceBytes);
  return { service: name, modules: files.length, packages: Object.fromEntries(sorted), heap: v8.getHeapStatistics(), spaces: v8.getHeapSpaceStatistics() };
}

if (dir) {
  process.on('SIGUSR2', () => {
    writeFileSync(join(dir, `${name}.json`), JSON.stringify(census(), null, 1));
    if (process.env.KEELSON_CENSUS_HEAP === '1') v8.writeHeapSnapshot(join(dir, `${name}.heapsnapshot`));
    writeFileSync(join(dir, `${name}.done`), '');
  });
}
