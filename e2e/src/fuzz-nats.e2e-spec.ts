import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { headers as natsHeaders, type Msg, type NatsConnection, type Subscription } from 'nats';
import { Headers as KeelsonHeaders, Streams, taskIdForKey } from '@keelson/contracts';
import { waitFor } from '@keelson/testing';
import { fuzzRuns, fuzzSeed, watchProcesses, type Watched } from './support/fuzz-mesh';
import { payloadCorpus, readAsyncApi, type RawPayload } from './support/fuzz-nats';
import { mutationsOf, sketchBody } from './support/fuzz-schema';
import { client } from './support/http';
import { startMesh, type Mesh } from './support/mesh';
import { tenantNats } from './support/tenant-nats';

/**
 * Issue 11: bad input at scale over NATS. Garbage and schema-mutated payloads go onto the task subject as
 * tenant dev publishes it (JetStream, its own credentials), and as requests to every RPC subject of
 * docs/api/asyncapi.json (read at run time) from the operator identity, standing in for the services that
 * call them. Every RPC answers with an error reply that has a 4xx status, a code and a message; every bad task
 * is dead-lettered once with a reason (never redelivered in a loop); no service exits, and each keeps
 * answering valid requests afterwards.
 */

const TENANT = 'dev';
const TASK_SUBJECT = `keelson.tasks.${TENANT}.assistant`;

/** A request each RPC subject takes, for the mutations to start from; a new subject falls back to its schema. */
const VALID_RPC: Record<string, Record<string, unknown>> = {
  'keelson.rpc.agents.invoke': { tenant: TENANT, agentId: 'assistant', messages: [{ role: 'user', content: 'hi' }] },
  'keelson.rpc.audit.query': { tenant: TENANT },
  'keelson.rpc.audit.verify': { tenant: TENANT },
  'keelson.rpc.guard.input': { tenant: TENANT, text: 'hello' },
  'keelson.rpc.guard.output': { tenant: TENANT, text: 'ada@example.com' },
  'keelson.rpc.guard.policy': { tenant: TENANT },
  'keelson.rpc.guard.reveal': { tenant: TENANT, text: 'nothing here' },
  'keelson.rpc.memory.upsert': { tenant: TENANT, items: [{ namespace: 'user:fuzz-user', text: 'fuzz memory' }] },
  'keelson.rpc.memory.search': { tenant: TENANT, query: 'fuzz' },
  'keelson.rpc.memory.get': { tenant: TENANT, id: 'fuzz-absent' },
  'keelson.rpc.memory.delete': { tenant: TENANT, id: 'fuzz-absent' },
  'keelson.rpc.memory.erase': { tenant: TENANT, userId: 'fuzz-nobody' },
  'keelson.rpc.memory.namespaces': { tenant: TENANT },
  'keelson.rpc.memory.recall': { tenant: TENANT, userId: 'fuzz-user', query: 'fuzz' },
};
const VALID_TASK = { input: 'hello' };

describe('NATS fuzz: task subjects and RPC subjects answer bad payloads clearly and keep serving', () => {
  let mesh: Mesh;
  let watched: Watched;
  let tenantNc: NatsConnection;
  let deadLetters: Subscription;
  /** Dead letters of the tasks stream by the sequence of the message they carry. */
  const deadBySeq = new Map<number, { count: number; reason: string }>();
  const { doc, rpcs } = readAsyncApi();
  /** Every bad task published: its stream sequence and what it was. */
  const badTasks: { seq: number; what: string }[] = [];
  let published = 0;

  before(async () => {
    mesh = await startMesh();
    watched = watchProcesses(mesh);
    tenantNc = (await tenantNats(mesh, TENANT, 'fuzz-tenant')).nc;
    deadLetters = mesh.nc.subscribe('keelson.dlq.>');
    void (async () => {
      for await (const m of deadLetters) {
        if (m.headers?.get(KeelsonHeaders.deadLetterStream) !== Streams.tasks.name) continue;
        const seq = Number(m.headers.get(KeelsonHeaders.deadLetterSeq));
        const seen = deadBySeq.get(seq);
        deadBySeq.set(seq, { count: (seen?.count ?? 0) + 1, reason: m.headers.get(KeelsonHeaders.deadLetterReason) });
      }
    })();
  });
  after(async () => {
    watched?.stop();
    deadLetters?.unsubscribe();
    await tenantNc?.close();
    await mesh?.stop();
  });

  /** Publishes a task as tenant dev does, with a fresh Nats-Msg-Id so JetStream's de-duplication hides nothing. */
  const publishTask = async (data: Uint8Array, msgId = `${TENANT}:fuzz-${published}`, subject = TASK_SUBJECT): Promise<number> => {
    published++;
    const h = natsHeaders();
    h.set('Nats-Msg-Id', msgId);
    const ack = await tenantNc.jetstream().publish(subject, data, { headers: h, timeout: 10_000 });
    return ack.seq;
  };

  it('dead-letters every bad task once, with a reason, and never redelivers it', async () => {
    for (const p of payloadCorpus(VALID_TASK).filter((x) => !x.mayPass)) badTasks.push({ seq: await publishTask(p.data), what: p.what });
    // A taskId in the body that breaks the id rules, and a Nats-Msg-Id that names another tenant.
    badTasks.push({ seq: await publishTask(new TextEncoder().encode(JSON.stringify({ input: 'x', taskId: '../../etc' }))), what: 'taskId with a path' });
    badTasks.push({ seq: await publishTask(new TextEncoder().encode(JSON.stringify(VALID_TASK)), 'acme:fuzz-foreign'), what: "Nats-Msg-Id naming tenant acme" });
    const mutations = mutationsOf({ ...(readTaskSchema(doc) ?? {}) }, VALID_TASK);
    assert.ok(mutations, 'the TaskMessage schema gives mutations');
    const seed = fuzzSeed();
    await fc.assert(
      fc.asyncProperty(mutations, async (m) => {
        badTasks.push({ seq: await publishTask(new TextEncoder().encode(JSON.stringify(m.body))), what: m.what });
      }),
      { seed, numRuns: fuzzRuns() },
    );
    await waitFor(() => badTasks.every((t) => deadBySeq.has(t.seq)), {
      description: `a dead letter for each of ${badTasks.length} bad tasks; missing: ${JSON.stringify(badTasks.filter((t) => !deadBySeq.has(t.seq)).slice(0, 5))} (seed ${seed})`,
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    const unclear = badTasks.filter((t) => !deadBySeq.get(t.seq)!.reason);
    assert.deepEqual(unclear, [], 'dead letters without a reason');
    // Nothing left pending or in flight on the tasks stream's consumers: no redelivery loop.
    const jsm = await mesh.nc.jetstreamManager();
    await waitFor(
      async () => {
        const consumers = await jsm.consumers.list(Streams.tasks.name).next();
        return consumers.every((c) => c.num_ack_pending === 0 && c.num_pending === 0) || undefined;
      },
      { description: 'the tasks consumer with nothing pending', timeoutMs: 30_000, intervalMs: 200 },
    );
    const twice = badTasks.filter((t) => deadBySeq.get(t.seq)!.count > 1).map((t) => `${t.what}: ${deadBySeq.get(t.seq)!.count}`);
    assert.deepEqual(twice, [], 'a bad task was dead-lettered more than once (redelivered)');
  });

  it('fails a well-formed task for an agent that does not exist, with a clear reason, once', async () => {
    const seq = await publishTask(new TextEncoder().encode(JSON.stringify(VALID_TASK)), `${TENANT}:fuzz-no-agent`, `keelson.tasks.${TENANT}.no-such-agent`);
    const taskId = taskIdForKey(TENANT, 'fuzz-no-agent');
    const api = client(mesh.base);
    const outcome = await waitFor(
      async () => {
        if (deadBySeq.has(seq)) return { deadLetter: deadBySeq.get(seq)! };
        const view = (await api.get(`/v1/tasks/${taskId}`)).body;
        return view?.status === 'failed' ? { view } : undefined;
      },
      { description: 'the unknown agent task to fail or be dead-lettered', timeoutMs: 60_000, intervalMs: 200 },
    );
    const reason = outcome.deadLetter?.reason ?? outcome.view?.error?.message;
    assert.ok(reason, `no reason given: ${JSON.stringify(outcome)}`);
  });

  it('answers every bad request on every RPC subject with an error reply: 4xx status, code, message', async () => {
    const problems: string[] = [];
    const ask = async (subject: string, p: RawPayload, expectError: boolean) => {
      let reply: Msg;
      try {
        reply = await mesh.nc.request(subject, p.data, { timeout: 15_000 });
      } catch (err) {
        problems.push(`${subject} [${p.what}]: no reply (${(err as Error).message})`);
        return;
      }
      let body: any;
      try {
        body = JSON.parse(new TextDecoder().decode(reply.data));
      } catch {
        problems.push(`${subject} [${p.what}]: a reply that is not JSON`);
        return;
      }
      const failed = body?.ok === false;
      if (failed && !(typeof body.code === 'string' && typeof body.message === 'string' && body.status >= 400 && body.status < 500)) {
        problems.push(`${subject} [${p.what}]: an unclear error: ${JSON.stringify(body).slice(0, 200)}`);
      } else if (expectError && !failed) problems.push(`${subject} [${p.what}]: took it: ${JSON.stringify(body).slice(0, 200)}`);
    };
    const seed = fuzzSeed();
    for (const rpc of rpcs) {
      const valid = VALID_RPC[rpc.subject] ?? { tenant: TENANT, ...sketchBody(doc, rpc.schema) };
      for (const p of payloadCorpus(valid)) await ask(rpc.subject, p, !p.mayPass);
      const mutations = mutationsOf(rpc.schema, valid);
      if (!mutations) continue;
      const samples = fc.sample(mutations, { seed, numRuns: fuzzRuns() });
      for (const m of samples) await ask(rpc.subject, { what: m.what, data: new TextEncoder().encode(JSON.stringify(m.body)) }, true);
    }
    assert.deepEqual(problems, [], `fast-check seed ${seed} (KEELSON_FUZZ_SEED replays it):\n${problems.join('\n')}`);
  });

  it('leaves every service alive, and each still answers valid requests', async () => {
    assert.deepEqual(watched.died(), [], 'a service exited during the fuzz');
    for (const rpc of rpcs) {
      const valid = VALID_RPC[rpc.subject];
      if (!valid) continue;
      const reply = JSON.parse(new TextDecoder().decode((await mesh.nc.request(rpc.subject, new TextEncoder().encode(JSON.stringify(valid)), { timeout: 15_000 })).data));
      // A refusal the deployment's settings explain (guard.reveal without a pseudonym key: 409) is an answer too.
      const answered = reply?.ok === true || (reply?.ok === false && reply.status >= 400 && reply.status < 500 && typeof reply.code === 'string');
      assert.ok(answered, `${rpc.subject} did not answer a valid request after the fuzz: ${JSON.stringify(reply)}`);
    }
    await publishTask(new TextEncoder().encode(JSON.stringify(VALID_TASK)), `${TENANT}:fuzz-after`);
    const api = client(mesh.base);
    const view = await waitFor(
      async () => {
        const v = (await api.get(`/v1/tasks/${taskIdForKey(TENANT, 'fuzz-after')}`)).body;
        return v?.status === 'succeeded' || v?.status === 'failed' ? v : undefined;
      },
      { description: 'a valid task published after the fuzz to finish', timeoutMs: 60_000, intervalMs: 200 },
    );
    assert.equal(view.status, 'succeeded', JSON.stringify(view));
    for (const [name, port] of mesh.ports) {
      const res = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 200, `${name} /readyz: ${res.status}`);
    }
  });
});

/** The task payload's schema, from the tasks channel of asyncapi.json. */
function readTaskSchema(doc: any): any {
  const channel = Object.values(doc.channels as Record<string, any>).find((c) => c.address === 'keelson.tasks.{tenant}.{agentId}');
  const ref = (Object.values(channel?.messages ?? {})[0] as any)?.payload?.$ref as string | undefined;
  return ref ? ref.replace(/^#\//, '').split('/').reduce((node: any, key) => node?.[key], doc) : undefined;
}
