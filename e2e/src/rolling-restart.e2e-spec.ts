import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import { Consumers } from '@keelson/contracts';
import { checkRecord, loadMoves, startLoad, summary, type Reply } from './support/load';
import { MESH_SERVICES, startMesh, type Mesh } from './support/mesh';
import { replicaDataDirs } from './support/replicas';

/**
 * Issue 11, item 5: two replicas of every service, a steady load of stateless invokes, session turns and tasks
 * (through both gateways, and straight on NATS), and every replica of every service restarted in turn with
 * SIGTERM, the new one ready before the next goes. A client may see a refused connection or a 503 with
 * Retry-After (not admitted, sent again); anything admitted must succeed, every acknowledged task has exactly
 * one result, every answered turn is in its session's history once and in order (docs/operations.md
 * "Rolling restarts").
 */
describe('rolling restart: every service, one replica at a time, under load', () => {
  let mesh: Mesh;
  const startedAt = Date.now();

  before(async () => {
    mesh = await startMesh({
      replicas: Object.fromEntries(MESH_SERVICES.map((s) => [s, 2])),
      // A second of /readyz 503 before a gateway stops listening: the load's client (a load balancer's
      // health check, every 100 ms) stops sending it new requests first.
      env: { SESSION_MAX_MESSAGES: '10000', SHUTDOWN_DRAIN_MS: '1000' },
    });
  });
  after(async () => {
    await mesh?.stop();
    console.log(`# rolling-restart: ${Math.round((Date.now() - startedAt) / 1000)} s including the mesh start`);
  });

  it('loses and errors nothing that was admitted while each replica is replaced with SIGTERM', async () => {
    // The load's own copy of the gateway list: a replaced gateway's entry is swapped for its successor's.
    const bases = [...mesh.bases];
    const load = await startLoad({ bases, nc: mesh.nc, prefix: 'rr', httpTaskClients: 2, natsTaskClients: 1, sessions: 3, invokeClients: 2 });
    const restarted: Array<{ name: string; from: number; to: number; logs: string[] }> = [];
    try {
      await loadMoves(load, 'the start');
      for (const service of MESH_SERVICES) {
        for (const name of [...mesh.apps.keys()].filter((n) => n.startsWith(`${service}-`))) {
          const port = mesh.ports.get(name)!;
          const app = mesh.apps.get(name)!;
          const from = Date.now();
          await app.stop();
          const exit = await app.exited;
          const to = Date.now();
          mesh.apps.delete(name);
          // Nest re-raises the signal after its hooks: a clean drain ends by the signal, not by a code.
          assert.ok(exit === null || exit === 0, `${name} exited with code ${exit} on SIGTERM:\n${app.logs().slice(-10).join('\n')}`);
          const next = await mesh.startReplica(service, replicaDataDirs(service));
          if (service === 'gateway') bases[bases.indexOf(`http://127.0.0.1:${port}`)] = `http://127.0.0.1:${next.port}`;
          restarted.push({ name, from, to, logs: app.logs() });
          await loadMoves(load, `replacing ${name}`);
        }
      }
    } finally {
      await load.stop();
    }
    console.log(summary('rolling-restart', load));
    assert.equal(restarted.length, MESH_SERVICES.length * 2, `restarted ${restarted.map((r) => r.name).join(', ')}`);
    // On a failure: which replicas were stopping around it (how long each took), and what they logged last.
    const context = (f: { reply: Reply }) => {
      const near = restarted.filter((r) => r.from - 15_000 <= f.reply.at && f.reply.sentAt <= r.to + 1_000);
      return near.map((r) => `  ${r.name} stopping ${r.from - f.reply.sentAt} ms after the send, took ${r.to - r.from} ms; last lines:\n    ${r.logs.slice(-6).join('\n    ')}`).join('\n');
    };
    assert.deepEqual(
      load.record.failures.map((f) => `${f.what}: ${f.reply.status || f.reply.error} ${JSON.stringify(f.reply.body)?.slice(0, 200)} (${f.reply.base}, ${f.reply.at - f.reply.sentAt} ms)\n${context(f)}`),
      [],
      'every admitted request is answered with success',
    );
    console.log(`# rolling-restart: SIGTERM to exit per replica: ${restarted.map((r) => `${r.name} ${r.to - r.from} ms`).join(', ')}`);
    const findings = await checkRecord(load.record, mesh.nc, bases, Consumers.taskWorker.ackWaitMs * 2 + 30_000);
    assert.deepEqual(findings.lost, [], 'every acknowledged task has a result');
    assert.deepEqual(findings.doubled, [], 'no task has two results');
    assert.deepEqual(findings.unfinished, [], 'every acknowledged task ends');
    assert.deepEqual(findings.sessionFaults, [], 'every answered turn is in its history once, in order');
    assert.ok(load.record.tasks.size > 0 && load.record.invokes.length > 0, 'the load ran');
  });
});
