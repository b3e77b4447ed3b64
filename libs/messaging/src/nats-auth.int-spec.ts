import { strict as assert } from 'node:assert';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Consumers, OpsSubjects, Streams, Subjects, type KeelsonService } from '@keelson/contracts';
import { startNats, waitFor, type NatsServerHandle } from '@keelson/testing';
import { connect, type NatsConnection } from 'nats';
import { decodeJson, encodeJson } from './codec';
import { connectNats } from './connection';
import { ConsumerRunner } from './consumer-runner';
import type { MessagingLogger } from './logger';
import { generateNatsAuth, type NatsAuthFiles, type NatsIdentity } from './nats-auth-config';
import type { NatsCredentials, NatsIdentityRole } from './nats-credentials';
import { provisionConsumer, provisionStreams } from './provisioning';
import { JetStreamPublisher } from './publisher';
import { request, serveRequests } from './request-reply';

/** A connection as one generated identity, with the permission violations its connectNats logged. */
interface Client {
  nc: NatsConnection;
  violations: string[];
}

const credentialsOf = (id: NatsIdentity): NatsCredentials => ({ kind: 'nkey', seedFile: id.seedFile, inboxPrefix: id.permissions.inboxPrefix });

describe('NATS with the generated users and permissions (nats-server 2.9)', () => {
  let nats: NatsServerHandle;
  let auth: NatsAuthFiles;
  const clients: Client[] = [];

  const as = async (id: NatsIdentity, role: NatsIdentityRole = 'service'): Promise<Client> => {
    const violations: string[] = [];
    const logger: MessagingLogger = {
      debug: () => undefined,
      info: () => undefined,
      warn: () => undefined,
      error: (msg) => {
        if (msg.startsWith('nats permissions violation')) violations.push(msg.replace('nats permissions violation: ', ''));
      },
    };
    const client = { nc: await connectNats({ url: nats.url, name: `${id.name} ${role}`, logger, credentials: credentialsOf(id), role }), violations };
    clients.push(client);
    return client;
  };
  const service = (name: KeelsonService) => as(auth.services[name]);
  const responder = (name: KeelsonService) => as(auth.services[name], 'responder');
  /** Waits until the server's -ERR for `what` has come back (it is asynchronous to a core publish). */
  const refused = (client: Client, what: string) =>
    waitFor(() => client.violations.includes(what), { description: `the server to refuse ${what}`, timeoutMs: 5_000 });

  before(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'keelson-nats-auth-'));
    auth = generateNatsAuth({ dir, tenants: ['acme', 'dev'] });
    nats = await startNats({ configFile: auth.configFile });
  });

  after(async () => {
    for (const c of clients) await c.nc.close().catch(() => undefined);
    await nats?.stop();
  });

  it('writes every seed 0600 and lists public keys only in the server configuration', () => {
    for (const id of [auth.operator, ...Object.values(auth.services), ...Object.values(auth.tenants)]) {
      assert.equal(statSync(id.seedFile).mode & 0o777, 0o600, id.seedFile);
    }
    assert.equal(statSync(auth.configFile).mode & 0o777, 0o600);
  });

  it('refuses a client without credentials', async () => {
    await assert.rejects(connect({ servers: nats.url, reconnect: false }), /AUTHORIZATION_VIOLATION|Authorization Violation/i);
  });

  it('lets the gateway provision streams, queue a task and ask every replica for stats; a task-worker runs it', async () => {
    const gateway = await service('gateway');
    const worker = await service('task-worker');
    await provisionStreams(gateway.nc, [...Object.values(Streams)]);
    const ack = await new JetStreamPublisher(gateway.nc).publish(Subjects.task('acme', 'assistant'), { input: 'hi' }, { msgId: 'acme:t1' });
    assert.equal(ack.stream, Streams.tasks.name);

    await provisionConsumer(worker.nc, Consumers.taskWorker);
    const seen: unknown[] = [];
    const runner = new ConsumerRunner(worker.nc, Consumers.taskWorker, async (m) => {
      seen.push(m.data);
      await new JetStreamPublisher(worker.nc).publish(Subjects.result('acme', 'assistant', 't1'), { ok: true });
    });
    await runner.start();
    await waitFor(() => seen.length === 1, { description: 'the task-worker to pull the task' });
    await runner.stop();
    // Acknowledged (workqueue): the message is gone, so the ack reached the server.
    const jsm = await gateway.nc.jetstreamManager();
    await waitFor(async () => (await jsm.streams.info(Streams.tasks.name)).state.messages === 0, { description: 'the ack to remove the task' });

    // Scatter-gather: the task-worker's responder answers through allow_responses into the gateway's private inbox.
    const workerResponder = await responder('task-worker');
    const stats = workerResponder.nc.subscribe(OpsSubjects.stats, { callback: (_e, msg) => msg.respond(encodeJson({ service: 'task-worker' })) });
    await workerResponder.nc.flush();
    const reply = await gateway.nc.request(OpsSubjects.stats, undefined, { timeout: 2_000 });
    assert.deepEqual(decodeJson(reply.data), { service: 'task-worker' });
    assert.deepEqual([...gateway.violations, ...worker.violations, ...workerResponder.violations], []);
    stats.unsubscribe();
  });

  it('answers the memory RPC from memory-service\'s responder to a runtime, and keeps the inboxes private', async () => {
    const memory = await responder('memory-service');
    const agent = await service('session-agent');
    const server = serveRequests(memory.nc, 'keelson.rpc.memory.recall', 'keelson-memory', async () => ({ ok: true, memories: [] }));
    await memory.nc.flush();
    assert.deepEqual(await request(agent.nc, 'keelson.rpc.memory.recall', { tenant: 'acme' }, { timeoutMs: 2_000 }), { ok: true, memories: [] });
    await server.stop();

    // memory-service may not read the session-agent's replies, nor every inbox.
    memory.nc.subscribe('_INBOX.svc.session-agent.>');
    await refused(memory, 'subscription to _INBOX.svc.session-agent.>');
    // nor answer what it was never asked (no blanket inbox right), nor publish anything else.
    memory.nc.publish('_INBOX.svc.session-agent.forged', encodeJson({ ok: true }));
    await refused(memory, 'publish to _INBOX.svc.session-agent.forged');
    memory.nc.publish(`${Subjects.deadLetter(Streams.memoryWrites.name)}`, encodeJson({}));
    await refused(memory, `publish to ${Subjects.deadLetter(Streams.memoryWrites.name)}`);
  });

  it('keeps allow_responses off the connections that take JetStream deliveries, and off the service identity', async () => {
    // Why (nats-permissions): nats-server would remember each delivery's ack subject for an hour and, past
    // 4,096 of them, scan them all on every delivery. The service identity cannot answer a request...
    const gateway = await service('gateway');
    const guardMain = await service('guard-service');
    guardMain.nc.subscribe(OpsSubjects.stats);
    await refused(guardMain, `subscription to ${OpsSubjects.stats}`);
    // ...while its responder answers, and only once: a second answer to the same request is refused.
    const guardResponder = await responder('guard-service');
    guardResponder.nc.subscribe(OpsSubjects.stats, {
      callback: (_e, msg) => {
        msg.respond(encodeJson({ service: 'guard' }));
        msg.respond(encodeJson({ service: 'guard', again: true }));
      },
    });
    await guardResponder.nc.flush();
    const reply = await gateway.nc.request(OpsSubjects.stats, undefined, { timeout: 2_000 });
    assert.deepEqual(decodeJson(reply.data), { service: 'guard' });
    await waitFor(() => guardResponder.violations.some((v) => v.startsWith('publish to _INBOX.svc.gateway.')), { description: 'the second answer to be refused', timeoutMs: 5_000 });
    assert.deepEqual(gateway.violations, []);
  });

  it('refuses a service what it must not do', async () => {
    const worker = await service('task-worker');
    worker.nc.publish(Subjects.logLevel, encodeJson({ level: 'debug' }));
    await refused(worker, `publish to ${Subjects.logLevel}`);
    // It may publish tasks (re-queueing stranded ones, stranded-messages.ts), but no session turn.
    worker.nc.publish(Subjects.sessionTurn('acme', 's1'), encodeJson({}));
    await refused(worker, `publish to ${Subjects.sessionTurn('acme', 's1')}`);
    worker.nc.publish(`$JS.API.STREAM.MSG.DELETE.${Streams.sessionTurns.name}`);
    await refused(worker, `publish to $JS.API.STREAM.MSG.DELETE.${Streams.sessionTurns.name}`);
    worker.nc.publish(`$JS.API.STREAM.DELETE.${Streams.tasks.name}`);
    await refused(worker, `publish to $JS.API.STREAM.DELETE.${Streams.tasks.name}`);
    const guard = await service('guard-service');
    guard.nc.subscribe(Subjects.allTasks);
    await refused(guard, `subscription to ${Subjects.allTasks}`);
    guard.nc.publish(`$JS.API.CONSUMER.MSG.NEXT.${Consumers.taskWorker.stream}.${Consumers.taskWorker.durable}`);
    await refused(guard, `publish to $JS.API.CONSUMER.MSG.NEXT.${Consumers.taskWorker.stream}.${Consumers.taskWorker.durable}`);
  });

  it('lets tenant acme publish its own task (PubAck through its inbox prefix) and read its own results only', async () => {
    const acme = await as(auth.tenants.acme!);
    const worker = await service('task-worker');
    const results = acme.nc.subscribe(Subjects.tenantResults('acme'));
    await acme.nc.flush();

    const ack = await acme.nc.jetstream().publish(Subjects.task('acme', 'assistant'), encodeJson({ input: 'from acme' }));
    assert.equal(ack.stream, Streams.tasks.name);

    await new JetStreamPublisher(worker.nc).publish(Subjects.result('acme', 'assistant', 't2'), { output: 'done' });
    const got = await waitFor(async () => {
      for await (const m of results) return m;
      return undefined;
    }, { description: 'acme to receive its result over core NATS' });
    assert.equal(got.subject, Subjects.result('acme', 'assistant', 't2'));

    await assert.rejects(
      acme.nc.jetstream().publish(Subjects.task('dev', 'assistant'), encodeJson({}), { timeout: 2_000 }),
      /Permissions Violation for Publish to "keelson\.tasks\.dev\.assistant"|PERMISSIONS_VIOLATION/,
    );
    acme.nc.subscribe(Subjects.tenantResults('dev'));
    await refused(acme, 'subscription to keelson.results.dev.>');
    acme.nc.subscribe(Subjects.allResults);
    await refused(acme, `subscription to ${Subjects.allResults}`);
    // No JetStream API: on 2.9 a consumer would expose the whole results stream.
    acme.nc.publish(`$JS.API.CONSUMER.CREATE.${Streams.results.name}`);
    await refused(acme, `publish to $JS.API.CONSUMER.CREATE.${Streams.results.name}`);
    // Nor the service inboxes.
    acme.nc.subscribe('_INBOX.svc.gateway.>');
    await refused(acme, 'subscription to _INBOX.svc.gateway.>');
  });

  it('lets the operator change log levels', async () => {
    const operator = await as(auth.operator);
    const gateway = await service('gateway');
    const sub = gateway.nc.subscribe(Subjects.logLevel, { max: 1 });
    await gateway.nc.flush();
    operator.nc.publish(Subjects.logLevel, encodeJson({ level: 'debug' }));
    for await (const m of sub) assert.deepEqual(decodeJson(m.data), { level: 'debug' });
    assert.deepEqual(operator.violations, []);
  });
});
