import { strict as assert } from 'node:assert';
import { copyFileSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Consumers, Streams, Subjects, taskIdForKey, taskMsgId } from '@keelson/contracts';
import { findRepoRoot, sleep, waitFor } from '@keelson/testing';
import { headers as natsHeaders, JSONCodec } from 'nats';
import { checkRecord, gatewayClient, isClearError, loadMoves, resultCounts, startLoad, summary, type Load, type Reply } from './support/load';
import { MESH_SERVICES, startMesh, type Mesh } from './support/mesh';
import { startMisbehavingModel, type MisbehavingModel } from './support/misbehaving-model';
import { replicaDataDirs } from './support/replicas';

/**
 * Issue 11, item 3, the faults not covered elsewhere (resilience.e2e-spec.ts kills a task-worker and a
 * session-agent; cluster-faults.e2e-spec.ts runs a 3-node cluster): under a steady load of all three execution
 * models, two replicas of each service, one NATS server, in turn: kill -9 of one replica of every service
 * (gateway, guard-, memory- and audit-service too), NATS killed and restarted, Redis killed and restarted, a
 * task-worker frozen past its ack wait (a slow consumer), poison messages on the task subject, duplicate
 * publishes, and a model server that hangs or answers garbage. No acknowledged task lost, no result doubled,
 * no run stuck, and every failure a client sees says why.
 */
const BROKEN_TIMEOUT_MS = 4_000;
const codec = JSONCodec<unknown>();

describe('faults under load: kills, restarts, a slow consumer, poison, duplicates, a broken model', () => {
  let mesh: Mesh;
  let model: MisbehavingModel;
  let bases: string[];
  let load: Load;
  /** Gateways killed -9: a request in flight on one may lose its connection (never an answer it was given). */
  const killedGateways = new Set<string>();
  const startedAt = Date.now();

  before(async () => {
    model = await startMisbehavingModel();
    const dir = mkdtempSync(join(tmpdir(), 'keelson-faults-'));
    const agents = join(dir, 'agents');
    mkdirSync(agents);
    copyFileSync(join(findRepoRoot(), 'agents', 'assistant.yaml'), join(agents, 'assistant.yaml'));
    writeFileSync(
      join(agents, 'broken.json'),
      JSON.stringify({
        id: 'broken',
        version: '1',
        description: 'runs on a model server that hangs or answers garbage',
        model: { provider: 'openai', name: 'broken-model' },
        systemPrompt: 'Answer.',
        limits: { maxOutputTokens: 64, maxSteps: 1, timeoutMs: BROKEN_TIMEOUT_MS },
      }),
    );
    writeFileSync(join(dir, 'openai-key'), 'sk-faults-e2e\n');
    mesh = await startMesh({
      replicas: Object.fromEntries(MESH_SERVICES.map((s) => [s, 2])),
      // Redis keeps its data across the kill (docs/operations.md "Redis durability").
      redisArgs: ['--appendonly', 'yes', '--appendfsync', 'always'],
      env: { AGENTS_DIR: agents, OPENAI_BASE_URL: model.baseUrl, OPENAI_API_KEY_FILE: join(dir, 'openai-key'), SESSION_MAX_MESSAGES: '10000' },
    });
    bases = [...mesh.bases];
    load = await startLoad({ bases, nc: mesh.nc, prefix: 'fl', httpTaskClients: 2, natsTaskClients: 1, sessions: 3, invokeClients: 1 });
    await loadMoves(load, 'the start');
  });
  after(async () => {
    await load?.stop();
    await mesh?.stop();
    await model?.stop();
    console.log(`# faults-under-load: ${Math.round((Date.now() - startedAt) / 1000)} s including the mesh start`);
  });

  it('kill -9 of one replica of every service in turn, each replaced, the load going on', async () => {
    for (const service of MESH_SERVICES) {
      const name = [...mesh.apps.keys()].find((n) => n.startsWith(`${service}-`))!;
      const port = mesh.ports.get(name)!;
      if (service === 'gateway') killedGateways.add(`http://127.0.0.1:${port}`);
      await mesh.apps.get(name)!.kill('SIGKILL');
      mesh.apps.delete(name);
      const next = await mesh.startReplica(service, replicaDataDirs(service));
      if (service === 'gateway') bases[bases.indexOf(`http://127.0.0.1:${port}`)] = `http://127.0.0.1:${next.port}`;
      await loadMoves(load, `killing ${name}`);
    }
  });

  it('NATS killed -9 and restarted: the services reconnect and the load goes on', async () => {
    await mesh.nats.kill('SIGKILL');
    await mesh.nats.restart();
    await loadMoves(load, 'the NATS restart', 10, 120_000);
  });

  it('Redis killed -9 and restarted with its data: the load goes on', async () => {
    await mesh.redis.kill('SIGKILL');
    await mesh.redis.restart();
    await loadMoves(load, 'the Redis restart', 10, 120_000);
  });

  it('a task-worker frozen past its ack wait (a slow consumer): its tasks run elsewhere, and once it wakes none is doubled', async () => {
    const name = [...mesh.apps.keys()].find((n) => n.startsWith('task-worker-'))!;
    const frozen = mesh.apps.get(name)!;
    await frozen.kill('SIGSTOP');
    try {
      // Its deliveries come back to the other worker after the ack wait; the load keeps submitting meanwhile.
      await sleep(Consumers.taskWorker.ackWaitMs + 5_000);
      await loadMoves(load, `freezing ${name}`);
    } finally {
      await frozen.kill('SIGCONT');
    }
    await loadMoves(load, `waking ${name}`, 10);
  });

  it('poison messages on the task subject are dead-lettered and stop nothing', async () => {
    const js = mesh.nc.jetstream();
    const poison = [
      { key: 'poison-not-json', body: new TextEncoder().encode('{"input": "unterminated') },
      { key: 'poison-no-input', body: codec.encode({ prompt: 'no input field' }) },
      { key: 'poison-wrong-type', body: codec.encode({ input: { nested: true } }) },
    ];
    for (const p of poison) {
      const h = natsHeaders();
      h.set('Nats-Msg-Id', taskMsgId('dev', p.key));
      await js.publish(Subjects.task('dev', 'assistant'), p.body, { headers: h });
    }
    const consumer = await js.consumers.get(Streams.deadLetters.name, { filterSubjects: Subjects.deadLetter(Streams.tasks.name) });
    const wanted = new Set(poison.map((p) => taskMsgId('dev', p.key)));
    const reasons = new Map<string, string>();
    await waitFor(
      async () => {
        const batch = await consumer.fetch({ max_messages: 100, expires: 1_000 });
        for await (const m of batch) {
          const id = m.headers?.get('Keelson-Dead-Letter-Msg-Id') ?? '';
          if (wanted.has(id)) reasons.set(id, m.headers?.get('Keelson-Dead-Letter-Reason') ?? '');
        }
        return reasons.size === wanted.size ? true : undefined;
      },
      { description: 'every poison message on the dead-letter stream', timeoutMs: 60_000 },
    );
    for (const [id, reason] of reasons) assert.match(reason, /validation_failed|json/i, `${id}: ${reason}`);
    const counts = await resultCounts(mesh.nc, 'assistant', poison.map((p) => taskIdForKey('dev', p.key)));
    assert.deepEqual([...counts.values()], [0, 0, 0], 'a poison message has no result');
    await loadMoves(load, 'the poison messages');
  });

  it('duplicate publishes: the same Nats-Msg-Id twice is one message, the same task id under two ids one result', async () => {
    const js = mesh.nc.jetstream();
    const h = natsHeaders();
    h.set('Nats-Msg-Id', taskMsgId('dev', 'dup-msg'));
    const first = await js.publish(Subjects.task('dev', 'assistant'), codec.encode({ input: 'dup by msg id' }), { headers: h });
    const second = await js.publish(Subjects.task('dev', 'assistant'), codec.encode({ input: 'dup by msg id' }), { headers: h });
    assert.equal(first.duplicate, false);
    assert.equal(second.duplicate, true, 'JetStream drops the second copy');

    // The same task id in the body under two message ids: both are stored, the task runs once.
    const taskId = taskIdForKey('dev', 'dup-task');
    for (const key of ['dup-task-a', 'dup-task-b']) {
      const hh = natsHeaders();
      hh.set('Nats-Msg-Id', taskMsgId('dev', key));
      await js.publish(Subjects.task('dev', 'assistant'), codec.encode({ input: 'dup by task id', taskId }), { headers: hh });
    }
    const api = gatewayClient(bases);
    const replays = await Promise.all([1, 2].map(() => api.post('/v1/tasks', { agentId: 'assistant', input: 'dup over http', idempotencyKey: 'dup-http' })));
    assert.deepEqual(replays.map((r) => r.status), [202, 202]);
    assert.equal(replays[0]!.body.taskId, replays[1]!.body.taskId, 'one idempotency key is one task');

    const ids = [taskIdForKey('dev', 'dup-msg'), taskId, replays[0]!.body.taskId as string];
    const counts = await waitFor(
      async () => {
        const c = await resultCounts(mesh.nc, 'assistant', ids);
        return [...c.values()].every((n) => n >= 1) ? c : undefined;
      },
      { description: 'a result for each duplicated task', timeoutMs: 60_000, intervalMs: 250 },
    );
    assert.deepEqual([...counts.values()], [1, 1, 1], 'one result each');
    // The last check counts them again once everything has settled: a late second delivery would show there.
    for (const id of ids) load.record.tasks.set(id, 'nats');
  });

  it('a model server that hangs: invoke, turn and task end at the agent timeout with a clear failure', async () => {
    const api = gatewayClient(bases);
    const invoke = await api.post('/v1/agents/broken/invoke', { input: 'please hang' }, 60_000);
    assert.ok(isClearError(invoke), `invoke: ${invoke.status} ${JSON.stringify(invoke.body)}`);
    const { sessionId } = (await api.post('/v1/sessions', { agentId: 'broken' })).body;
    const turn = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'please hang' }, 60_000);
    assert.ok(isClearError(turn), `turn: ${turn.status} ${JSON.stringify(turn.body)}`);
    // The session is not stuck behind the failed turn: the next one runs (and fails on garbage, clearly).
    const next = await api.post(`/v1/sessions/${sessionId}/messages`, { content: 'then garbage' }, 60_000);
    assert.ok(isClearError(next), `next turn: ${next.status} ${JSON.stringify(next.body)}`);
    await taskFailsClearly(api, 'please hang', 'broken-hang');
    console.log(`# faults-under-load: a hanging model: invoke ${invoke.status} ${invoke.body.error.code}, turn ${turn.status} ${turn.body.error.code}: ${turn.body.error.message}`);
    assert.ok(model.counts.hang >= 3, `the model server saw the hanging requests (${model.counts.hang})`);
  });

  it('a model server that answers garbage: a clear failure, never a stuck run or a made-up answer', async () => {
    const api = gatewayClient(bases);
    const invoke = await api.post('/v1/agents/broken/invoke', { input: 'garbage please' }, 60_000);
    assert.ok(isClearError(invoke), `invoke: ${invoke.status} ${JSON.stringify(invoke.body)}`);
    await taskFailsClearly(api, 'garbage please', 'broken-garbage');
    console.log(`# faults-under-load: a garbage model: invoke ${invoke.status} ${invoke.body.error.code}: ${invoke.body.error.message}`);
    assert.ok(model.counts.garbage >= 2, `the model server answered garbage (${model.counts.garbage})`);
  });

  it('after all of it: every acknowledged task has exactly one result, every answered turn is in its history once, every failure is clear', async () => {
    await load.stop();
    console.log(summary('faults-under-load', load));
    const why = (r: Reply) => `${r.status || r.error} ${(r.body as { error?: { code?: string } })?.error?.code ?? ''}`.trim();
    console.log(`# faults-under-load: failures the faults caused: ${JSON.stringify(load.record.failures.map((f) => `${f.what.split(' ')[0]} ${why(f.reply)}`))}`);
    const unclear = load.record.failures.filter((f) => !isClearError(f.reply) && !lostWithKilledGateway(f.reply));
    assert.deepEqual(
      unclear.map((f) => `${f.what}: ${f.reply.status || f.reply.error} ${JSON.stringify(f.reply.body)?.slice(0, 200)}`),
      [],
      'a request that fails says why (4xx/5xx with an error body), unless its gateway was killed under it',
    );
    const findings = await checkRecord(load.record, mesh.nc, bases, Consumers.taskWorker.ackWaitMs * 3 + 30_000);
    assert.deepEqual(findings.lost, [], 'every acknowledged task has a result');
    assert.deepEqual(findings.doubled, [], 'no task has two results');
    assert.deepEqual(findings.unfinished, [], 'every acknowledged task ends, succeeded or failed with a reason');
    assert.deepEqual(findings.sessionFaults, [], 'every answered turn is in its history once, in order');
    // NATS killed -9 leaves finished tasks in the work queue (acks not yet written) and can strand new ones
    // below the consumer's ack floor; the runners re-queue them (stranded-messages.ts), so the queue empties.
    const jsm = await mesh.nc.jetstreamManager();
    await waitFor(async () => ((await jsm.streams.info(Streams.tasks.name)).state.messages === 0 ? true : undefined), {
      description: `the task queue to empty (${Streams.tasks.name})`,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
  });

  const lostWithKilledGateway = (r: Reply) => r.status === 0 && killedGateways.has(r.base);
});

/** A task on the broken agent: acknowledged, then failed with a reason within its retries (never stuck running). */
async function taskFailsClearly(api: ReturnType<typeof gatewayClient>, input: string, key: string): Promise<void> {
  const submitted = await api.post('/v1/tasks', { agentId: 'broken', input, idempotencyKey: key });
  assert.equal(submitted.status, 202, JSON.stringify(submitted.body));
  // Every attempt ends at the agent timeout, then waits its backoff: bounded by the attempts and backoffs.
  const bound = Consumers.taskWorker.maxDeliver * (BROKEN_TIMEOUT_MS + 5_000) + Consumers.taskWorker.retryBackoffMs.reduce((a, b) => a + b, 0);
  const view = await waitFor(
    async () => {
      const v = await api.get(`/v1/tasks/${submitted.body.taskId}`);
      return v.status === 200 && (v.body.status === 'failed' || v.body.status === 'succeeded') ? v.body : undefined;
    },
    { description: `task "${input}" on the broken model to end`, timeoutMs: bound, intervalMs: 500 },
  );
  assert.equal(view.status, 'failed', JSON.stringify(view));
  assert.ok(typeof view.error?.message === 'string' && view.error.message.length > 0, `the failure says why: ${JSON.stringify(view.error)}`);
}
