import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { Consumers, RunCompletedSchema, RunFailedSchema, Subjects } from '@keelson/contracts';
import { DeferError, PoisonMessageError, silentLogger } from '@keelson/messaging';
import { AgentRegistry, OfflineModel, ProviderRegistry, builtinAgents } from '@keelson/runtime';
import type { BeginTurnResult, HistoryMessage } from '@keelson/state';
import { RecordingPublisher, type RolloutPort } from '@keelson/runtime';
import { TurnHandler, turnWaitDelayMs, type TurnMessage } from './turn-handler';

class FakeSessions {
  readonly begins: { turn: number; owner: string; leaseMs: number; skipMissing: boolean }[] = [];
  readonly commits: { turn: number; owner: string; messages: HistoryMessage[] }[] = [];
  commitResult: 'ok' | 'conflict' | 'gone' = 'ok';
  onCommit: () => void = () => undefined;

  /** beginTurn answers these in order, the last one for every call after. */
  private readonly answers: BeginTurnResult[];
  constructor(...answers: BeginTurnResult[]) {
    this.answers = answers;
  }

  async beginTurn(_t: string, _s: string, turn: number, owner: string, leaseMs: number, skipMissing = false) {
    this.begins.push({ turn, owner, leaseMs, skipMissing });
    return this.answers.length > 1 ? this.answers.shift()! : this.answers[0]!;
  }

  readonly absorbs: { running: number; steer: number; content: string }[] = [];
  async absorbTurn(_t: string, _s: string, running: number, steer: number, _owner: string, content: string) {
    this.absorbs.push({ running, steer, content });
    return true;
  }

  readonly committedVersions: (string | undefined)[] = [];
  async commitTurn(_t: string, _s: string, turn: number, owner: string, messages: HistoryMessage[], agentVersion?: string) {
    this.commits.push({ turn, owner, messages });
    this.committedVersions.push(agentVersion);
    this.onCommit();
    return this.commitResult;
  }
}

function setup(...begin: BeginTurnResult[]) {
  const sessions = new FakeSessions(...begin);
  const publisher = new RecordingPublisher();
  const handler = new TurnHandler({
    sessions,
    publisher,
    agents: new AgentRegistry(builtinAgents()),
    providers: new ProviderRegistry([new OfflineModel()]),
    owner: 'replica-a',
    leaseMs: 30_000,
    leaseRenewMs: 20,
    logger: silentLogger,
  });
  return { sessions, publisher, handler };
}

const turnMessage = (over: Partial<TurnMessage> & { content?: string } = {}): TurnMessage => ({
  subject: Subjects.sessionTurn('dev', 'ses_1'),
  data: { sessionId: 'ses_1', turn: 2, content: over.content ?? 'and now?' },
  deliveryCount: 1,
  ...over,
});

const history: HistoryMessage[] = [
  { role: 'user', content: 'my name is Ada' },
  { role: 'assistant', content: 'hello' },
];

describe('TurnHandler: what it does with each beginTurn answer', () => {
  it('ok: runs the agent on history + the new message, logs the run, commits user and assistant messages', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history });
    assert.equal(await handler.handle(turnMessage()), 'completed');

    assert.deepEqual(publisher.types().filter((t) => t !== 'run.delta'), ['run.started', 'run.completed']);
    assert.ok(publisher.published.every((p) => p.subject === Subjects.sessionRun('dev', 'ses_1', 2)));
    const completed = RunCompletedSchema.parse(publisher.published.at(-1)!.event.data);
    assert.equal(completed.runId, 'ses_1:2');
    assert.match(completed.outcome.output, /Earlier you said: "my name is Ada"/, 'the model saw the history');
    assert.deepEqual(sessions.commits, [
      {
        turn: 2,
        owner: 'replica-a',
        messages: [
          { role: 'user', content: 'and now?' },
          { role: 'assistant', content: completed.outcome.output },
        ],
      },
    ]);
    assert.deepEqual(sessions.begins[0], { turn: 2, owner: 'replica-a', leaseMs: 30_000, skipMissing: false });
  });

  it("ok: asks the rollout with the version the session's earlier turns ran, and records the version this turn ran", async () => {
    const sessions = new FakeSessions({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', agentVersion: '7', history });
    const asked: (string | undefined)[] = [];
    const rollouts: RolloutPort = {
      refusal: () => undefined,
      choose: (_agent, _tenant, _key, sticky) => (asked.push(sticky), undefined),
      record: async () => undefined,
    };
    const handler = new TurnHandler({
      sessions,
      rollouts,
      publisher: new RecordingPublisher(),
      agents: new AgentRegistry(builtinAgents()),
      providers: new ProviderRegistry([new OfflineModel()]),
      owner: 'replica-a',
      leaseMs: 30_000,
      logger: silentLogger,
    });
    assert.equal(await handler.handle(turnMessage()), 'completed');
    assert.deepEqual(asked, ['7']);
    const ran = new AgentRegistry(builtinAgents()).get('assistant')!.version;
    assert.deepEqual(sessions.committedVersions, [ran], 'no rollout here: the default version ran and is recorded');
  });

  it('ok, agent fails: logs run.failed and commits no messages, so the next turn is not held up', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    assert.equal(await handler.handle(turnMessage({ content: '__fail__' })), 'failed');
    assert.deepEqual(publisher.types(), ['run.started', 'run.failed']);
    assert.equal(RunFailedSchema.parse(publisher.published[1]!.event.data).error.code, 'agent_failed');
    assert.deepEqual(sessions.commits, [{ turn: 2, owner: 'replica-a', messages: [] }]);
  });

  it('ok, but the session names an agent this replica does not have: run.failed agent_not_found, empty commit', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'nobody', history: [] });
    assert.equal(await handler.handle(turnMessage()), 'failed');
    assert.deepEqual(publisher.types(), ['run.failed']);
    assert.equal(RunFailedSchema.parse(publisher.published[0]!.event.data).error.code, 'agent_not_found');
    assert.deepEqual(sessions.commits, [{ turn: 2, owner: 'replica-a', messages: [] }]);
  });

  it('ok, but another replica took the turn over before the commit: settles as conflict and announces nothing', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    sessions.commitResult = 'conflict';
    assert.equal(await handler.handle(turnMessage()), 'conflict');
    assert.ok(!publisher.types().includes('run.completed'), 'the replica that took over announces the turn');
  });

  it('announces run.completed only once the turn is committed, so a reader of the session finds it', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    let typesAtCommit: string[] = [];
    sessions.onCommit = () => (typesAtCommit = publisher.types());
    assert.equal(await handler.handle(turnMessage()), 'completed');
    assert.ok(!typesAtCommit.includes('run.completed'), `published before the commit: ${typesAtCommit.join(', ')}`);
    assert.equal(publisher.types().at(-1), 'run.completed');
  });

  it('done: acknowledges without running (a redelivery after a crash between commit and ack)', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'done' });
    assert.equal(await handler.handle(turnMessage()), 'already-done');
    assert.deepEqual(publisher.published, []);
    assert.deepEqual(sessions.commits, []);
  });

  for (const kind of ['wait', 'busy'] as const) {
    it(`${kind}: defers the message (~200 ms at first) without running or committing`, async () => {
      const { sessions, publisher, handler } = setup({ kind });
      await assert.rejects(handler.handle(turnMessage()), (err) => err instanceof DeferError && err.delayMs === 200);
      assert.deepEqual(publisher.published, []);
      assert.deepEqual(sessions.commits, []);
    });
  }

  it('gone: tells a waiting caller with run.failed session_not_found, and acknowledges', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'gone' });
    assert.equal(await handler.handle(turnMessage()), 'session-gone');
    assert.deepEqual(publisher.types(), ['run.failed']);
    assert.equal(publisher.published[0]!.subject, Subjects.sessionRun('dev', 'ses_1', 2));
    assert.equal(RunFailedSchema.parse(publisher.published[0]!.event.data).error.code, 'session_not_found');
    assert.deepEqual(sessions.commits, []);
  });

  it('lets a turn skip a missing predecessor only from the 10th delivery on', async () => {
    const { sessions, handler } = setup({ kind: 'done' });
    await handler.handle(turnMessage({ deliveryCount: 9 }));
    await handler.handle(turnMessage({ deliveryCount: 10 }));
    assert.deepEqual(
      sessions.begins.map((b) => b.skipMissing),
      [false, true],
    );
  });

  it('defers a second delivery of a turn this process is still running (one owner cannot tell them apart)', async () => {
    const { handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    const first = handler.handle(turnMessage({ content: '__slow:200__' }));
    await assert.rejects(handler.handle(turnMessage({ deliveryCount: 2 })), DeferError);
    assert.equal(await first, 'completed');
  });

  it('renews the lease while the agent runs, and abandons the turn uncommitted once another replica holds it', async () => {
    const ok: BeginTurnResult = { kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] };
    const { sessions, publisher, handler } = setup(ok, ok, { kind: 'busy' });
    assert.equal(await handler.handle(turnMessage({ content: '__slow:10000__' })), 'conflict');
    assert.ok(sessions.begins.length >= 3, 'begin, then renewals');
    assert.deepEqual(sessions.commits, []);
    assert.deepEqual(publisher.types(), ['run.started'], 'no outcome is logged for an abandoned turn');
  });

  it('tells a waiting caller when the session is deleted while its turn runs', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] }, { kind: 'gone' });
    assert.equal(await handler.handle(turnMessage({ content: '__slow:10000__' })), 'session-gone');
    assert.deepEqual(publisher.types(), ['run.started', 'run.failed']);
    assert.equal(RunFailedSchema.parse(publisher.published[1]!.event.data).error.code, 'session_not_found');
    assert.deepEqual(sessions.commits, []);
  });

  it('interrupted while queued: never runs, commits nothing (advancing the order), ends run.failed run_cancelled', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: true, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    assert.equal(await handler.handle(turnMessage()), 'cancelled');
    assert.deepEqual(publisher.types(), ['run.failed']);
    assert.equal(RunFailedSchema.parse(publisher.published[0]!.event.data).error.code, 'run_cancelled');
    assert.deepEqual(sessions.commits, [{ turn: 2, owner: 'replica-a', messages: [] }]);
  });

  it('interrupted while running (cancel message): aborts the run, commits no reply, ends run.failed run_cancelled', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    const running = handler.handle(turnMessage({ content: '__slow:10000__' }));
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(handler.cancel('dev', 'ses_1', 2), false, 'a cancel for turns before 2 leaves turn 2 alone');
    assert.equal(handler.cancel('acme', 'ses_1', 3), false, 'another tenant\'s session');
    assert.equal(handler.cancel('dev', 'ses_1', 3), true);
    assert.equal(await running, 'cancelled');
    assert.deepEqual(publisher.types(), ['run.started', 'run.failed']);
    assert.equal(RunFailedSchema.parse(publisher.published[1]!.event.data).error.code, 'run_cancelled');
    assert.deepEqual(sessions.commits, [{ turn: 2, owner: 'replica-a', messages: [] }]);
    assert.equal(handler.cancel('dev', 'ses_1', 3), false, 'nothing runs any more');
  });

  it('interrupted while running (seen at a lease renewal, the cancel message missed): ends the same way', async () => {
    const ok: BeginTurnResult = { kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] };
    const { sessions, publisher, handler } = setup(ok, { ...ok, cancelled: true });
    assert.equal(await handler.handle(turnMessage({ content: '__slow:10000__' })), 'cancelled');
    assert.deepEqual(publisher.types(), ['run.started', 'run.failed']);
    assert.deepEqual(sessions.commits, [{ turn: 2, owner: 'replica-a', messages: [] }]);
  });

  it('propagates a failed publish (NATS down) without committing, so the turn is retried', async () => {
    const { sessions, publisher, handler } = setup({ kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history: [] });
    publisher.failFrom = 1;
    await assert.rejects(handler.handle(turnMessage()), /connection closed/);
    assert.deepEqual(sessions.commits, []);
  });
});

describe('TurnHandler: malformed turns are poison', () => {
  const poison = (msg: TurnMessage, reason: RegExp) =>
    assert.rejects(setup({ kind: 'done' }).handler.handle(msg), (err) => err instanceof PoisonMessageError && reason.test(err.reason));

  it('names the bad field of the body', () =>
    poison(turnMessage({ data: { sessionId: 'ses_1', turn: 'two', content: 'x' } }), /^invalid turn: turn: /));

  it('refuses a body that is not an object', () => poison(turnMessage({ data: 'hello' }), /^invalid turn: /));

  it('refuses a body whose session is not the one in the subject', () =>
    poison(turnMessage({ data: { sessionId: 'ses_other', turn: 1, content: 'x' } }), /sessionId: does not match/));

  it('refuses a subject that is not a turn subject', () => poison(turnMessage({ subject: 'keelson.sessions.turns.dev' }), /not a session turn subject/));
});

describe('turnWaitDelayMs', () => {
  it('starts at 200 ms and never exceeds 2 s', () => {
    assert.equal(turnWaitDelayMs(1), 200);
    assert.equal(turnWaitDelayMs(5), 200);
    assert.equal(turnWaitDelayMs(6), 400);
    assert.equal(turnWaitDelayMs(59), 2_000);
  });

  it('waits, over every allowed delivery, longer than twice the lease of a crashed replica', () => {
    let total = 0;
    for (let n = 1; n < Consumers.sessionAgent.maxDeliver; n++) total += turnWaitDelayMs(n);
    assert.ok(total > 2 * Consumers.sessionAgent.ackWaitMs, `waits ${total} ms in all`);
  });
});

describe('TurnHandler: the steer policy', () => {
  const ok = { kind: 'ok' as const, cancelled: false, agentId: 'assistant', history, absorbedInto: 0, steers: [] as string[] };

  it('a turn the run before it took in ends as that run\'s reply: nothing committed, run.completed steeredInto', async () => {
    const { sessions, publisher, handler } = setup({ ...ok, absorbedInto: 1 });
    assert.equal(await handler.handle(turnMessage({ data: { sessionId: 'ses_1', turn: 2, content: 'and say hi', steerInto: 1 } })), 'completed');
    assert.deepEqual(sessions.commits, [{ turn: 2, owner: 'replica-a', messages: [] }]);
    assert.deepEqual(publisher.types(), ['run.completed']);
    const completed = RunCompletedSchema.parse(publisher.published[0]!.event.data);
    assert.equal(completed.outcome.output, 'hello', 'the reply of the run that took it in');
    assert.equal(completed.outcome.steeredInto, 'ses_1:1');
  });

  it('a steer message the running turn never took in runs as a queued turn, and says why first', async () => {
    const { sessions, publisher, handler } = setup(ok);
    assert.equal(await handler.handle(turnMessage({ data: { sessionId: 'ses_1', turn: 2, content: 'too late', steerInto: 1 } })), 'completed');
    assert.equal(publisher.types()[0], 'session.policy');
    const decision = publisher.published[0]!.event.data as { decision: string; policy: string; affectedRunId: string; reason?: string };
    assert.deepEqual([decision.policy, decision.decision, decision.affectedRunId], ['steer', 'queued', 'ses_1:1']);
    assert.match(decision.reason ?? '', /before its next step/);
    assert.equal(sessions.commits[0]!.messages[0]!.content, 'too late');
  });

  it('a re-run gives the model the messages an earlier attempt took in, and keeps them in the history', async () => {
    const { sessions, handler } = setup({ ...ok, steers: ['also this'] });
    assert.equal(await handler.handle(turnMessage({ content: 'first' })), 'completed');
    const committed = sessions.commits[0]!.messages;
    assert.deepEqual(committed.map((m) => [m.role, m.role === 'user' ? m.content : '']), [['user', 'first'], ['user', 'also this'], ['assistant', '']]);
  });

  it('offers a steer message only to the run it was meant for', () => {
    const { handler } = setup(ok);
    assert.equal(handler.steer('dev', { sessionId: 'ses_1', turn: 3, into: 2, content: 'x' }), false, 'nothing runs here');
  });
});

describe("TurnHandler: a turn the gateway claimed (RESERVE_TURN took its lease)", () => {
  const claimed = (until: number, deliveryCount = 1) =>
    turnMessage({
      deliveryCount,
      data: { sessionId: 'ses_1', turn: 2, content: 'and now?', claim: { owner: 'pre:2', until, agentId: 'assistant', history } },
    });
  const ok: BeginTurnResult = { kind: 'ok', cancelled: false, absorbedInto: 0, steers: [], agentId: 'assistant', history };

  it('runs on the claimed history without reading the session, and commits as the claim owner', async () => {
    const { sessions, publisher, handler } = setup(ok);
    assert.equal(await handler.handle(claimed(Date.now() + 29_000)), 'completed');
    assert.deepEqual(sessions.begins, [], 'no BEGIN_TURN: one Redis round trip saved');
    assert.equal(sessions.commits[0]?.owner, 'pre:2');
    const completed = RunCompletedSchema.parse(publisher.published.at(-1)!.event.data);
    assert.match(completed.outcome.output, /Earlier you said: "my name is Ada"/, 'the model saw the claimed history');
  });

  it('reads the session anew, as the claim owner, when less than half the lease is left', async () => {
    const { sessions, handler } = setup(ok);
    assert.equal(await handler.handle(claimed(Date.now() + 10_000)), 'completed');
    assert.deepEqual(sessions.begins.map((b) => b.owner), ['pre:2']);
    assert.equal(sessions.commits[0]?.owner, 'pre:2');
  });

  it('a redelivery runs as this process: the first delivery may still hold the claim', async () => {
    const { sessions, handler } = setup({ kind: 'busy' });
    await assert.rejects(handler.handle(claimed(Date.now() + 29_000, 2)), DeferError);
    assert.deepEqual(sessions.begins.map((b) => b.owner), ['replica-a']);
    assert.deepEqual(sessions.commits, []);
  });

  it('refuses a claim that does not fit the schema as a poison message', async () => {
    const { handler } = setup(ok);
    const bad = turnMessage({ data: { sessionId: 'ses_1', turn: 2, content: 'x', claim: { owner: '', until: -1, agentId: 'assistant', history: [] } } });
    await assert.rejects(handler.handle(bad), PoisonMessageError);
  });
});
