import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { AgentMemory, type AgentMemoryPolicy } from './agent-memory';
import type { TurnRecall } from './memory-client';

const semantic: AgentMemoryPolicy = { id: 'helper', memory: { recall: 'semantic', topK: 3 } };
const forgetful: AgentMemoryPolicy = { id: 'helper', memory: { recall: 'none' } };

function setup(recall: TurnRecall) {
  const calls: string[] = [];
  const warnings: string[] = [];
  const memory = new AgentMemory(
    {
      recallForTurn: async (tenant, userId, query, options) => {
        calls.push(`recall ${tenant} ${userId} ${query} topK=${options?.topK}`);
        return recall;
      },
      rememberTurn: async (tenant, turn, msgId) => void calls.push(`remember ${tenant} ${turn.userId} ${turn.userText} ${msgId}`),
      bind: (tenant, userId) => ({ recall: async () => [{ content: `${tenant}/${userId}` }] }),
    },
    { logger: { info: () => undefined, warn: (m) => void warnings.push(m) } },
  );
  return { memory, calls, warnings };
}

describe('AgentMemory', () => {
  it('puts the user\'s memories into the context as one system message', async () => {
    const { memory, calls } = setup({ memories: [{ id: 'm1', text: 'likes tea', score: 0.9, metadata: {} } as never], late: false, tokens: 3 });
    const context = await memory.contextFor({ tenant: 'dev', userId: 'ada' }, semantic, 'what do I drink?');
    assert.deepEqual(context, [{ role: 'system', content: 'What you remember about this user (most relevant first):\n- likes tea' }]);
    assert.deepEqual(calls, ['recall dev ada what do I drink? topK=3']);
  });

  it('goes on without memories when recall is late or memory-service is away, and says so in the log', async () => {
    for (const recall of [{ memories: [], late: true, tokens: 0 }, { memories: [], late: false, tokens: 0, unavailable: 'memory-service is not running' }]) {
      const { memory, warnings } = setup(recall);
      assert.deepEqual(await memory.contextFor({ tenant: 'dev', userId: 'ada' }, semantic, 'q'), []);
      assert.deepEqual(warnings, ['turn ran without memories']);
    }
  });

  it('reads and writes nothing for an agent without a memory policy, or a run without a user', async () => {
    const { memory, calls } = setup({ memories: [], late: false, tokens: 0 });
    assert.deepEqual(await memory.contextFor({ tenant: 'dev', userId: 'ada' }, forgetful, 'q'), []);
    assert.deepEqual(await memory.contextFor({ tenant: 'dev' }, semantic, 'q'), []);
    await memory.remember({ tenant: 'dev', userId: 'ada' }, forgetful, { userText: 'x' }, 'id');
    await memory.remember({ tenant: 'dev' }, semantic, { userText: 'x' }, 'id');
    assert.deepEqual(calls, []);
  });

  it('hands a finished turn over, once per message id', async () => {
    const { memory, calls } = setup({ memories: [], late: false, tokens: 0 });
    await memory.remember({ tenant: 'dev', userId: 'ada' }, semantic, { userText: 'my name is Ada', sessionId: 'ses_1' }, 'dev:ses_1:1:memory');
    assert.deepEqual(calls, ['remember dev ada my name is Ada dev:ses_1:1:memory']);
  });

  it('the memory_recall tool reads the scope of the run that calls it', async () => {
    const { memory } = setup({ memories: [], late: false, tokens: 0 });
    const tool = memory.recallTool();
    await assert.rejects(tool.recall('q', 3), /no user/);
    const found = await AgentMemory.withScope({ tenant: 'acme', userId: 'bob' }, () => tool.recall('q', 3));
    assert.deepEqual(found, [{ content: 'acme/bob' }]);
  });
});
