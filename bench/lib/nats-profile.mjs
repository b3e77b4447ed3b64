// CPU profiles of nats-server (a Go program) for the benches: nats-server serves Go's pprof on the port its
// `--profile <port>` flag names, and `pprof-format` (DataDog's decoder of the pprof protobuf) reads what it
// returns, so no Go toolchain is needed to see where the server's time goes.
//   node bench/lib/nats-profile.mjs <profile.pb.gz> [--top 20]     (summarise a saved profile)
import { readFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { Profile } from 'pprof-format';

const SERVER_PACKAGE = 'github.com/nats-io/nats-server/v2/server.';
const SERVER_PACKAGE_V1 = 'github.com/nats-io/nats-server/server.';

/** Samples nats-server's CPU for `seconds` (Go's /debug/pprof/profile); resolves to the gzipped protobuf. */
export async function captureNatsProfile(port, seconds) {
  const res = await fetch(`http://127.0.0.1:${port}/debug/pprof/profile?seconds=${Math.max(1, Math.round(seconds))}`);
  if (!res.ok) throw new Error(`nats-server's profiler answered ${res.status}`);
  return Buffer.from(await res.arrayBuffer());
}

/**
 * Self and inclusive CPU by function, as shares of the profile's CPU time, the top `top` of each; functions
 * of nats-server's own package are shortened to `server.(*client).deliverMsg` and so on.
 */
export function summarizeNatsProfile(gzipped, { top = 20 } = {}) {
  const p = Profile.decode(gunzipSync(gzipped));
  const str = (i) => p.stringTable.strings[Number(i)];
  const names = new Map(p.function.map((f) => [String(f.id), shorten(str(f.name))]));
  const frames = new Map(p.location.map((l) => [String(l.id), l.line.map((line) => names.get(String(line.functionId)))]));
  const cpu = p.sampleType.findIndex((t) => str(t.type) === 'cpu');
  if (cpu < 0) throw new Error('not a CPU profile (no "cpu" sample type)');
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  for (const sample of p.sample) {
    const nanos = Number(sample.value[cpu]);
    total += nanos;
    const stack = sample.locationId.flatMap((id) => frames.get(String(id)) ?? []);
    if (stack.length === 0) continue;
    self.set(stack[0], (self.get(stack[0]) ?? 0) + nanos);
    for (const name of new Set(stack)) inclusive.set(name, (inclusive.get(name) ?? 0) + nanos);
  }
  const ranked = (m) =>
    [...m]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, nanos]) => ({ name, cpuS: round(nanos / 1e9, 3), share: total > 0 ? round(nanos / total, 3) : 0 }));
  return { cpuS: round(total / 1e9, 3), self: ranked(self), inclusive: ranked(inclusive) };
}

export function formatNatsSummary(summary, title) {
  const rows = (list) => list.map((r) => `  ${(100 * r.share).toFixed(1).padStart(5)} %  ${r.name}`).join('\n');
  return `${title}: ${summary.cpuS} s of CPU\nself:\n${rows(summary.self)}\ninclusive:\n${rows(summary.inclusive)}`;
}

const shorten = (name) => name.replace(SERVER_PACKAGE, 'server.').replace(SERVER_PACKAGE_V1, 'server.');
const round = (x, d) => Math.round(x * 10 ** d) / 10 ** d;

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [file, ...rest] = process.argv.slice(2);
  if (!file) {
    console.error('usage: node bench/lib/nats-profile.mjs <profile.pb.gz> [--top 20]');
    process.exit(2);
  }
  const at = rest.indexOf('--top');
  console.log(formatNatsSummary(summarizeNatsProfile(readFileSync(file), { top: at >= 0 ? Number(rest[at + 1]) : 20 }), file));
}
