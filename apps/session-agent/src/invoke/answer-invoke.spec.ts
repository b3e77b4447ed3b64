import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { InvokeRpcReplySchema } from '@keelson/contracts';
import { AgentRegistry, OfflineModel, ProviderRegistry, builtinAgents } from '@keelson/runtime';
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
});
