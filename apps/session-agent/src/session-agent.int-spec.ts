import { strict as assert } from 'node:assert';
import { after, before, describe, it } from 'node:test';
import {
  CloudEventSchema,
  EventTypes,
  Headers,
  RunCompletedSchema,
  RunFailedSchema,
  RunStartedSchema,
  Streams,
  Subjects,
  newSessionId,
  type CloudEvent,
  type InvokeRpcReply,
  type SessionTurn,
} from '@keelson/contracts';
import { DEAD_LETTER_ORIGINAL_MSG_ID, JetStreamPublisher, decodeJson, request, silentLogger } from '@keelson/messaging';
import { SessionStore } from '@keelson/state';
import {
  freePort,
  startApp,
  startNats,
  startRedis,
  waitFor,
  type AppHandle,
  type NatsServerHandle,
  type RedisServerHandle,
} from '@keelson/testing';
import { connect, type NatsConnection, type Subscription } from 'nats';
import { createClient } from 'redis';

/** Every run event of one session, in arrival order, collected from a core subscription opened up front. */
class RunEvents {
  readonly events: CloudEvent<Record<string, unknown>>[] = [];
  private readonly sub: Subscription;

  constructor(nc: NatsConnection, tenant: string, sessionId: string) {
    const sub = nc.subscribe(`keelson.runs.${tenant}.sessions.${sessionId}.>`);
    this.sub = sub;
    void (async () => {
      for await (const msg of sub) this.events.push(CloudEventSchema.parse(decodeJson(msg.data)) as CloudEvent<Record<string, unknown>>);
    })();
  }

  /** Index of the first event of `type` for `turn`, or -1. */
  indexOf(type: string, turn: number): number {
    return this.events.findIndex((e) => e.type === type && String(e.data['runId']).endsWith(`:${turn}`));
  }

  async terminal(turn: number): Promise<CloudEvent<Record<string, unknown>>> {
    return waitFor(
      () => this.events.find((e) => (e.type === EventTypes.runCompleted || e.type === EventTypes.runFailed) && String(e.data['runId']).endsWith(`:${turn}`)),
      { description: `the end of turn ${turn}`, timeoutMs: 20_000 },
    );
  }

  close(): void {
    this.sub.unsubscribe();
  }
}

/**
 * The session-agent as its own process against real NATS and Redis. The test plays the gateway: it creates
 * the session and reserves turns in Redis, and queues turns on JetStream exactly as the gateway does.
 */
describe('session-agent over NATS and Redis', () => {
  let nats: NatsServerHandle;
  let redis: RedisServerHandle;
  let redisClient: ReturnType<typeof createClient>;
  let sessions: SessionStore;
  let nc: NatsConnection;
  let publisher: JetStreamPublisher;
  let agent: AppHandle;

  /** Reserves the next turn and queues it, as the gateway's TurnRelay does. */
  const sendTurn = async (sessionId: string, content: string): Promise<number> => {
    const reserved = await sessions.reserveTurn('dev', sessionId);
    assert.ok(reserved?.kind === 'reserved', `session ${sessionId} exists`);
    const turn: SessionTurn = { sessionId, turn: reserved.turn, content };
    await publisher.publish(Subjects.sessionTurn('dev', sessionId), turn, { msgId: `dev:${sessionId}:${reserved.turn}` });
    return reserved.turn;
  };

  const newSession = async () => {
    const sessionId = newSessionId();
    await sessions.create('dev', sessionId, 'assistant');
    return sessionId;
  };

  before(async () => {
    [nats, redis] = await Promise.all([startNats(), startRedis()]);
    redisClient = createClient({ url: redis.url });
    await redisClient.connect();
    sessions = new SessionStore(redisClient, { ttlSeconds: 600, maxMessages: 200 });
    const port = await freePort();
    agent = await startApp({
      name: 'session-agent',
      env: { NATS_URL: nats.url, REDIS_URL: redis.url, HEALTH_PORT: String(port), LOG_LEVEL: 'warn' },
      readyUrl: `http://127.0.0.1:${port}/readyz`,
    });
    nc = await connect({ servers: nats.url });
    publisher = new JetStreamPublisher(nc, { logger: silentLogger });
  });

  after(async () => {
    await nc?.close();
    await agent?.stop();
    await redisClient?.close();
    await Promise.all([nats?.stop(), redis?.stop()]);
  });

  it('runs two turns in order, and the second reply shows the first turn was kept', async () => {
    const sessionId = await newSession();
    const events = new RunEvents(nc, 'dev', sessionId);
    try {
      await sendTurn(sessionId, 'my name is Ada');
      const first = RunCompletedSchema.parse((await events.terminal(1)).data);
      assert.match(first.outcome.output, /This is turn 1/);

      await sendTurn(sessionId, 'what is my name?');
      const second = RunCompletedSchema.parse((await events.terminal(2)).data);
      // The history keeps the name; the reply leaves through the guard's output filter (no guard-service
      // runs here, so the default policy applies: a person's name becomes a typed placeholder).
      assert.match(second.outcome.output, /This is turn 2 .*Earlier you said: "my name is \[PERSON\]"/);

      const view = await waitFor(async () => {
        const v = await sessions.get('dev', sessionId);
        return v?.turns === 2 && v;
      }, { description: 'both turns committed' });
      assert.deepEqual(
        view.messages.map((m) => m.role),
        ['user', 'assistant', 'user', 'assistant'],
      );
      assert.equal(view.messages[3]!.content, second.outcome.output);
    } finally {
      events.close();
    }
  });

  it('holds a turn back while its predecessor is still running, then runs it on the updated history', async () => {
    const sessionId = await newSession();
    const events = new RunEvents(nc, 'dev', sessionId);
    try {
      await sendTurn(sessionId, '__slow:1500__');
      await waitFor(() => events.indexOf(EventTypes.runStarted, 1) >= 0, { description: 'turn 1 to start' });
      await sendTurn(sessionId, 'are you done?');

      const second = RunCompletedSchema.parse((await events.terminal(2)).data);
      assert.ok(
        events.indexOf(EventTypes.runStarted, 2) > events.indexOf(EventTypes.runCompleted, 1),
        'turn 2 started only after turn 1 completed',
      );
      assert.match(second.outcome.output, /Earlier you said: "__slow:1500__"/);
      assert.ok(RunStartedSchema.parse(events.events[events.indexOf(EventTypes.runStarted, 2)]!.data).attempt > 1, 'turn 2 was deferred at least once');
    } finally {
      events.close();
    }
  });

  it('answers a turn for a session that does not exist with run.failed session_not_found', async () => {
    const sessionId = newSessionId();
    const events = new RunEvents(nc, 'dev', sessionId);
    try {
      await publisher.publish(Subjects.sessionTurn('dev', sessionId), { sessionId, turn: 1, content: 'hello?' });
      const failed = RunFailedSchema.parse((await events.terminal(1)).data);
      assert.equal(failed.error.code, 'session_not_found');
    } finally {
      events.close();
    }
  });

  it('dead-letters a malformed turn with the field named, without retrying it', async () => {
    const sessionId = await newSession();
    await publisher.publish(Subjects.sessionTurn('dev', sessionId), { sessionId, turn: 'one', content: 'x' }, { msgId: 'bad-turn-1' });
    const jsm = await nc.jetstreamManager();
    const dead = await waitFor(async () => {
      const msg = await jsm.streams
        .getMessage(Streams.deadLetters.name, { last_by_subj: Subjects.deadLetter(Streams.sessionTurns.name) })
        .catch(() => undefined);
      return msg?.header?.get(DEAD_LETTER_ORIGINAL_MSG_ID) === 'bad-turn-1' && msg;
    }, { description: 'the dead letter of the malformed turn' });
    assert.match(dead.header.get(Headers.deadLetterReason), /invalid turn: turn: /);
    assert.equal(dead.header.get(Headers.deliveries), '1');
  });

  it('answers the invoke RPC: an outcome for a known agent, 404 for an unknown one', async () => {
    const messages = [{ role: 'user', content: 'ping' }];
    const ok = await request<InvokeRpcReply>(nc, Subjects.invokeRpc, { tenant: 'dev', agentId: 'assistant', messages }, { timeoutMs: 5_000 });
    assert.ok(ok.ok, JSON.stringify(ok));
    assert.match(ok.outcome.output, /You said: "ping"/);

    const missing = await request<InvokeRpcReply>(nc, Subjects.invokeRpc, { tenant: 'dev', agentId: 'ghost', messages }, { timeoutMs: 5_000 });
    assert.deepEqual(missing, { ok: false, status: 404, code: 'agent_not_found', message: 'no agent "ghost"', field: 'agentId' });
  });
});
