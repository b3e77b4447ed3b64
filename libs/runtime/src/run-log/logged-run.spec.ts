import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { RunCompletedSchema, RunDeltaSchema, RunFailedSchema, RunToolCallSchema, RunToolResultSchema } from '@keelson/contracts';
import { AgentRegistry } from '../agents/agent-registry';
import { builtinAgents } from '../agents/builtin-agents';
import { OfflineModel } from '../model/offline-model';
import { ProviderRegistry, type ModelChunk } from '../model/provider';
import { ToolRegistry } from '../tools/tool-registry';
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

  it('logs each tool call and result in its place among the deltas', async () => {
    const { publisher, log } = setup();
    const steps: ModelChunk[][] = [
      [{ type: 'text', text: 'Checking. ' }, { type: 'tool_call', id: 'c1', name: 'echo', argumentsDelta: '{"text":"hi"}' }, { type: 'finish', reason: 'tool_calls' }],
      [{ type: 'tool_call', id: 'c2', name: 'echo', argumentsDelta: '{"text":' }, { type: 'finish', reason: 'tool_calls' }],
      [{ type: 'text', text: 'Done.' }, { type: 'finish', reason: 'stop' }],
    ];
    let step = 0;
    const scripted = new ProviderRegistry([{ name: agent.model.provider!, stream: async function* () { yield* steps[step++]!; } }]);
    const tools = new ToolRegistry([
      { name: 'echo', description: 'echo', parameters: { type: 'object', properties: { text: { type: 'string' } } }, run: async (a) => String(a['text']) },
    ]);
    const toolAgent = { ...agent, tools: ['echo'], limits: { ...agent.limits, maxSteps: 3 } };
    const result = await runLogged({ agent: toolAgent, messages: [{ role: 'user', content: 'go' }], providers: scripted, log, tools });
    await settleRunLog(log, result);
    assert.ok(result.ok);
    assert.deepEqual(publisher.types(), ['run.started', 'run.delta', 'run.tool_call', 'run.tool_result', 'run.tool_call', 'run.tool_result', 'run.delta', 'run.completed']);
    const data = publisher.published.map((p) => p.event.data);
    assert.deepEqual(RunToolCallSchema.parse(data[2]), { runId: 't1', attempt: 1, seq: 1, callId: 'c1', name: 'echo', arguments: '{"text":"hi"}' });
    assert.deepEqual(RunToolResultSchema.parse(data[3]), { runId: 't1', attempt: 1, callId: 'c1', name: 'echo', ok: true, content: 'hi' });
    const failed = RunToolResultSchema.parse(data[5]);
    assert.ok(!failed.ok && failed.callId === 'c2' && /not valid JSON/.test(failed.error ?? ''));
    assert.deepEqual(RunDeltaSchema.parse(data[6]).seq, 1);
    assert.deepEqual(
      publisher.published.map((p) => p.msgId).slice(2, 6),
      ['dev:t1:1:tool_call:0', 'dev:t1:1:tool_result:0', 'dev:t1:1:tool_call:1', 'dev:t1:1:tool_result:1'],
    );
  });
});
