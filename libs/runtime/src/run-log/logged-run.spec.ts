import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RunCompletedSchema, RunDeltaSchema, RunFailedSchema } from '@keelson/contracts';
import { AgentRegistry } from '../agents/agent-registry';
import { builtinAgents } from '../agents/builtin-agents';
import { OfflineModel } from '../model/offline-model';
import { ProviderRegistry } from '../model/provider';
import { runLogged, settleRunLog } from './logged-run';
import { RecordingPublisher } from './recording-publisher';
import { RunLog } from './run-log';

const agent = new AgentRegistry(builtinAgents()).get('assistant')!;
const providers = new ProviderRegistry([new OfflineModel()]);
const logInit = { subject: 'keelson.runs.dev.tasks.t1', tenant: 'dev', runId: 't1', attempt: 1, agentId: 'assistant', source: '/test' };

function setup() {
  const publisher = new RecordingPublisher();
  return { publisher, log: new RunLog(publisher, logInit) };
}

describe('runLogged', () => {
  it('logs started and the reply as ordered deltas, and leaves completed to settleRunLog', async () => {
    const { publisher, log } = setup();
    const input = 'x'.repeat(200);
    const result = await runLogged({ agent, messages: [{ role: 'user', content: input }], providers, log });
    assert.ok(result.ok);
    assert.ok(!publisher.types().includes('run.completed'), 'the terminal event waits until the caller stored the outcome');
    await settleRunLog(log, result);
    const types = publisher.types();
    assert.equal(types[0], 'run.started');
    assert.equal(types.at(-1), 'run.completed');
    const deltas = publisher.published.filter((p) => p.event.type.includes('delta')).map((p) => RunDeltaSchema.parse(p.event.data));
    assert.ok(deltas.length >= 2, `a reply over 256 characters comes in several deltas, got ${deltas.length}`);
    assert.deepEqual(
      deltas.map((d) => d.seq),
      deltas.map((_, i) => i),
    );
    assert.equal(deltas.map((d) => d.text).join(''), result.outcome.output, 'the deltas add up to the output');
    const completed = RunCompletedSchema.parse(publisher.published.at(-1)!.event.data);
    assert.deepEqual(completed.outcome, result.outcome);
  });

  it('reports an agent failure as an outcome: run.failed with agent_failed, nothing thrown', async () => {
    const { publisher, log } = setup();
    const result = await runLogged({ agent, messages: [{ role: 'user', content: '__fail__' }], providers, log });
    await settleRunLog(log, result);
    assert.equal(result.ok, false);
    assert.ok(!result.ok && result.error.code === 'agent_failed' && result.error.message.startsWith('model_error: '));
    assert.deepEqual(publisher.types(), ['run.started', 'run.failed']);
    assert.deepEqual(RunFailedSchema.parse(publisher.published[1]!.event.data).error, !result.ok && result.error);
  });

  it('throws when the log cannot be written, so the message is retried rather than acknowledged', async () => {
    const { publisher, log } = setup();
    publisher.failFrom = 2; // started goes out, the first delta does not
    await assert.rejects(
      runLogged({ agent, messages: [{ role: 'user', content: 'hello' }], providers, log }),
      /connection closed/,
    );
    assert.deepEqual(publisher.types(), ['run.started']);
  });

  it('throws the abort reason instead of logging an outcome when cancelled', async () => {
    const { publisher, log } = setup();
    const abort = new AbortController();
    const reason = new Error('lease lost');
    const running = runLogged({ agent, messages: [{ role: 'user', content: '__slow:5000__' }], providers, log, signal: abort.signal });
    setTimeout(() => abort.abort(reason), 20);
    await assert.rejects(running, (err) => err === reason);
    assert.deepEqual(publisher.types(), ['run.started']);
  });
});
