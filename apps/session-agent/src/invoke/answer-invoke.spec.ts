import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { InvokeRpcReplySchema } from '@keelson/contracts';
import { AgentRegistry, OfflineModel, ProviderRegistry, RecordingPublisher, builtinAgents } from '@keelson/runtime';
import { answerInvoke } from './answer-invoke';

const deps = { agents: new AgentRegistry(builtinAgents()), providers: new ProviderRegistry([new OfflineModel()]) };
const request = (over: object = {}) => ({
  tenant: 'dev',
  agentId: 'assistant',
  messages: [{ role: 'user', content: 'hello there' }],
  ...over,
});

describe('answerInvoke', () => {
  it('answers with the outcome of the agent run', async () => {
    const reply = InvokeRpcReplySchema.parse(await answerInvoke(request(), deps));
    assert.ok(reply.ok);
    assert.equal(reply.outcome.agentId, 'assistant');
    assert.match(reply.outcome.output, /You said: "hello there"/);
    assert.ok(reply.outcome.usage.totalTokens > 0);
  });

  it("puts the userId's recalled memories before the conversation, streamed or not; without userId nothing is recalled", async () => {
    const asked: Array<{ tenant: string; userId?: string; query: string }> = [];
    const memory = {
      contextFor: async (scope: { tenant: string; userId?: string }, _agent: unknown, query: string) => {
        asked.push({ ...scope, query });
        return [{ role: 'user' as const, content: 'Earlier: I live in Lisbon.' }];
      },
    };
    const seen: string[][] = [];
    const providers = new ProviderRegistry([
      {
        name: 'offline',
        async *stream(req: { messages: Array<{ content: string }> }) {
          seen.push(req.messages.map((m) => m.content));
          yield { type: 'text', text: 'ok' } as const;
          yield { type: 'finish', reason: 'stop' } as const;
        },
      },
    ]);
    await answerInvoke(request({ userId: 'ada' }), { ...deps, providers, memory });
    await answerInvoke(request({ userId: 'ada', runId: 'inv_mem' }), { ...deps, providers, memory, publisher: new RecordingPublisher() });
    await answerInvoke(request(), { ...deps, providers, memory });
    assert.deepEqual(asked, [
      { tenant: 'dev', userId: 'ada', query: 'hello there' },
      { tenant: 'dev', userId: 'ada', query: 'hello there' },
    ]);
    assert.ok(seen[0]!.indexOf('Earlier: I live in Lisbon.') < seen[0]!.indexOf('hello there'));
    assert.ok(seen[1]!.includes('Earlier: I live in Lisbon.'), 'the streamed path recalls too');
    assert.ok(!seen[2]!.includes('Earlier: I live in Lisbon.'));
  });

  it('answers an unknown agent with 404 agent_not_found, naming the field', async () => {
    assert.deepEqual(await answerInvoke(request({ agentId: 'ghost' }), deps), {
      ok: false,
      status: 404,
      code: 'agent_not_found',
      message: 'no agent "ghost"',
      field: 'agentId',
    });
  });

  it('answers an invalid request with 400 validation_failed, naming the field', async () => {
    const reply = await answerInvoke(request({ messages: [] }), deps);
    assert.ok(!reply.ok);
    assert.equal(reply.status, 400);
    assert.equal(reply.code, 'validation_failed');
    assert.equal(reply.field, 'messages');
  });

  it('answers an agent failure with 502 agent_failed and the reason', async () => {
    const reply = await answerInvoke(request({ messages: [{ role: 'user', content: '__fail__' }] }), deps);
    assert.ok(!reply.ok);
    assert.equal(reply.status, 502);
    assert.equal(reply.code, 'agent_failed');
    assert.match(reply.message, /failed on purpose/);
  });

  it('with a runId, publishes started, deltas and completed on the invoke run subject before replying', async () => {
    const publisher = new RecordingPublisher();
    const reply = await answerInvoke(request({ runId: 'inv_abc' }), { ...deps, publisher });
    assert.ok(reply.ok);
    assert.ok(publisher.published.every((p) => p.subject === 'keelson.runs.dev.invokes.inv_abc'));
    const types = publisher.types();
    assert.equal(types[0], 'run.started');
    assert.equal(types.at(-1), 'run.completed');
    assert.ok(types.includes('run.delta'));
    const text = publisher.published
      .filter((p) => p.event.type.includes('run.delta'))
      .map((p) => p.event.data['text'] as string)
      .join('');
    assert.equal(text, reply.outcome.output);
  });

  it('with a runId, a failed run publishes run.failed and replies 502', async () => {
    const publisher = new RecordingPublisher();
    const reply = await answerInvoke(request({ runId: 'inv_f', messages: [{ role: 'user', content: '__fail__' }] }), { ...deps, publisher });
    assert.ok(!reply.ok);
    assert.equal(reply.status, 502);
    assert.equal(publisher.types().at(-1), 'run.failed');
  });

  it('caps output tokens at maxOutputTokens', async () => {
    const long = 'word '.repeat(200);
    const capped = await answerInvoke(request({ messages: [{ role: 'user', content: long }], maxOutputTokens: 3 }), deps);
    assert.ok(capped.ok);
    assert.ok(capped.outcome.usage.outputTokens <= 3, `${capped.outcome.usage.outputTokens}`);
  });
});
