import { strict as assert } from 'node:assert';
import { writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Consumers } from '@keelson/contracts';
import { sleep, waitFor } from '@keelson/testing';
import { checkRecord, loadMoves, startLoad, summary } from './support/load';
import { startMesh, type Mesh } from './support/mesh';
import { machineCpu, sampleWindow, type ProcessSample } from './support/proc-sample';

/**
 * Issue 11, item 2: the mixed load at half the capacity measured at the start of the same run, for a while:
 * no error, resident memory of every service growing less than 10 % between a window after the warm-up and
 * one at the end (asserted on the ten-minute run; the short one reports it), open file descriptors not growing, and the JetStream consumers' lag back to 0 at the end.
 * By default a short variant (about 60 s of load); KEELSON_SOAK=1 runs the issue's ten minutes
 * (docs/operations.md "Faults under load and soak", bench/soak.mjs). KEELSON_SOAK_OUT=<file> writes the figures there as JSON.
 */
const LONG = process.env['KEELSON_SOAK'] === '1';
const CAPACITY_PROBE_MS = LONG ? 30_000 : 10_000;
const WARM_UP_MS = LONG ? 60_000 : 45_000;
const SOAK_MS = LONG ? 10 * 60_000 : 45_000;
/**
 * Each process is sampled once a second for this long at the start and at the end of the measured time; a
 * window's figure is its smallest reading. RSS saw-tooths with V8's collections (the task-worker's went
 * 295 -> 191 MiB in one run): the floor over a window that holds a collection is what a leak would raise.
 */
const WINDOW_READINGS = LONG ? 60 : 15;
/**
 * The load's clients: 2 HTTP task clients, 1 NATS task client, 3 session clients, 2 invoke clients. A session
 * client moves to a new session every 50 turns, as users do: one session growing for ten minutes would make
 * each turn's history (and the memory it takes) grow with it, which is no leak.
 */
const LOAD = { httpTaskClients: 2, natsTaskClients: 1, sessions: 3, turnsPerSession: 50, invokeClients: 2, slowMs: 50 };
const CLIENTS = LOAD.httpTaskClients + LOAD.natsTaskClients + LOAD.sessions + LOAD.invokeClients;
const RSS_GROWTH_LIMIT = 0.1;

describe(`soak: ${SOAK_MS / 1000} s at half capacity`, () => {
  let mesh: Mesh;
  before(async () => {
    mesh = await startMesh();
  });
  after(async () => mesh?.stop());

  it('no error, no memory or descriptor growth, no consumer lag left', async () => {
    // Capacity: the same mix with no pause between requests, as fast as this machine (shared) serves it now.
    const probe = await startLoad({ bases: mesh.bases, nc: mesh.nc, prefix: 'cap', paceMs: 0, ...LOAD });
    const probeFrom = probe.completed();
    await sleep(CAPACITY_PROBE_MS);
    const capacity = ((probe.completed() - probeFrom) * 1000) / CAPACITY_PROBE_MS;
    await probe.stop();
    const rate = Math.max(1, capacity / 2);

    const load = await startLoad({ bases: mesh.bases, nc: mesh.nc, prefix: 'soak', paceMs: 0, ratePerSecond: rate, ...LOAD });
    let first: ProcessSample[];
    let last: ProcessSample[];
    let done: number;
    let measuredMs: number;
    let machine: Array<{ busyS: number; totalS: number }>;
    try {
      await loadMoves(load, 'the start');
      await sleep(WARM_UP_MS);
      const pids = processes(mesh);
      machine = [machineCpu()];
      const from = load.completed();
      const t0 = Date.now();
      first = await sampleWindow(pids, WINDOW_READINGS);
      await sleep(SOAK_MS - 2 * WINDOW_READINGS * 1_000);
      last = await sampleWindow(pids, WINDOW_READINGS);
      machine.push(machineCpu());
      done = load.completed() - from;
      measuredMs = Date.now() - t0;
    } finally {
      await load.stop();
    }
    console.log(summary('soak', load));
    console.log(`# soak: capacity ${capacity.toFixed(1)} req/s, soak rate ${rate.toFixed(1)} req/s asked, ${((done * 1000) / measuredMs).toFixed(1)} req/s done over ${Math.round(measuredMs / 1000)} s`);
    const table = first.map((a, i) => {
      const b = last[i]!;
      return { name: a.name, store: a.name === 'nats-server' || a.name === 'redis-server', rssMiB: [a.rssKiB / 1024, b.rssKiB / 1024].map((x) => Math.round(x)), growth: (b.rssKiB - a.rssKiB) / a.rssKiB, fds: [a.fds, b.fds] };
    });
    // The machine is shared: CPU over the soak window, ours (the mesh's processes) and everyone else's.
    const oursS = last.reduce((sum, b, i) => sum + b.cpuS - first[i]!.cpuS, 0);
    const busyS = machine[1]!.busyS - machine[0]!.busyS;
    const totalS = machine[1]!.totalS - machine[0]!.totalS;
    const cpu = { meshCorePct: Math.round((100 * oursS) / (measuredMs / 1000)), machineBusyPct: Math.round((100 * busyS) / totalS), otherCpuS: Math.round(Math.max(0, busyS - oursS)) };
    console.log(`# soak: mesh CPU ${cpu.meshCorePct} % of a core, machine busy ${cpu.machineBusyPct} % (all cores), other processes ${cpu.otherCpuS} CPU s`);
    const out = process.env['KEELSON_SOAK_OUT'];
    if (out) {
      const figures = { long: LONG, soakS: SOAK_MS / 1000, warmUpS: WARM_UP_MS / 1000, capacityReqPerS: capacity, askedReqPerS: rate, doneReqPerS: (done * 1000) / measuredMs, cpu, processes: table, failures: load.record.failures.length, summary: summary('soak', load) };
      writeFileSync(out, JSON.stringify(figures, null, 2));
    }
    for (const row of table) console.log(`# soak: ${row.name} rss ${row.rssMiB[0]} -> ${row.rssMiB[1]} MiB (${(row.growth * 100).toFixed(1)} %), fds ${row.fds[0]} -> ${row.fds[1]}`);

    assert.deepEqual(
      load.record.failures.map((f) => `${f.what}: ${f.reply.status || f.reply.error} ${JSON.stringify(f.reply.body)?.slice(0, 200)}`),
      [],
      'no request fails',
    );
    // NATS and Redis hold the data the load adds (stream messages kept for their replay windows, task and
    // session records until their TTL): their growth is reported, not a leak; Keelson's processes keep none.
    // Asserted on the ten-minute run only: in the first two minutes of a process V8's heap is still growing
    // to its working size (the short run saw the gateway +40 % and then, in ten-minute runs, fall back by
    // half), so a minute says nothing about a leak. The short run reports it.
    if (LONG) assert.deepEqual(table.filter((r) => !r.store && r.growth >= RSS_GROWTH_LIMIT).map((r) => `${r.name}: ${r.rssMiB.join(' -> ')} MiB`), [], 'resident memory of every service grows less than 10 %');
    // A descriptor per connection in flight is no leak: each client holds at most one (a new one per request).
    assert.deepEqual(table.filter((r) => r.fds[1]! > r.fds[0]! + CLIENTS).map((r) => `${r.name}: ${r.fds.join(' -> ')}`), [], 'open descriptors do not grow');

    const jsm = await mesh.nc.jetstreamManager();
    for (const c of [Consumers.taskWorker, Consumers.sessionAgent, Consumers.auditWriter]) {
      await waitFor(
        async () => {
          const info = await jsm.consumers.info(c.stream, c.durable);
          return info.num_pending + info.num_ack_pending === 0 ? true : undefined;
        },
        { description: `consumer ${c.durable} lag (pending + ack pending) back to 0`, timeoutMs: 120_000, intervalMs: 250 },
      );
    }
    const findings = await checkRecord(load.record, mesh.nc, mesh.bases, 60_000);
    assert.deepEqual(findings, { lost: [], doubled: [], unfinished: [], sessionFaults: [] });
  });
});

/** Every service of the mesh plus NATS and Redis, by name. */
function processes(mesh: Mesh): Array<{ name: string; pid: number }> {
  return [...[...mesh.apps].map(([name, app]) => ({ name, pid: app.pid })), { name: 'nats-server', pid: mesh.nats.pid }, { name: 'redis-server', pid: mesh.redis.pid }];
}
