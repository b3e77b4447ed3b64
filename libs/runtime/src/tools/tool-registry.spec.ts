import { strict as assert } from 'node:assert';
import { describe, it } from 'node:test';
import { builtinAgents } from '../agents/builtin-agents';
import { parseAgentDefinition } from '../agents/agent-definition';
import { MEMORY_NOT_AVAILABLE, memoryRecallTool } from './memory-recall';
import { ToolRegistry } from './tool-registry';

const agent = { ...builtinAgents()[0]!, tools: ['memory_recall'] };
const ctx = { agent, signal: new AbortController().signal };

describe('ToolRegistry', () => {
  it('refuses a tool twice, a bad name, and a schema ajv cannot compile', () => {
    const registry = new ToolRegistry([memoryRecallTool()]);
    assert.throws(() => registry.register(memoryRecallTool()), /already registered/);
    assert.throws(() => registry.register({ ...memoryRecallTool(), name: 'bad name' }), /not valid/);
    assert.throws(() => registry.register({ ...memoryRecallTool(), name: 'odd', parameters: { type: 'nonsense' } }), /not a usable JSON Schema/);
  });

  it('memory_recall says memory is not available until memory-service exists', async () => {
    const result = await new ToolRegistry([memoryRecallTool()]).execute({ id: 'm1', name: 'memory_recall', arguments: '{"query":"my name"}' }, ctx);
    assert.deepEqual(result, { callId: 'm1', name: 'memory_recall', ok: false, error: MEMORY_NOT_AVAILABLE });
  });

  it('memory_recall uses a MemoryRecall when one is given, topK from the agent policy by default', async () => {
    const asked: [string, number][] = [];
    const tool = memoryRecallTool({ recall: async (q, k) => (asked.push([q, k]), [{ content: 'Ada likes tea' }]) });
    const semantic = { ...agent, memory: { recall: 'semantic' as const, topK: 3 } };
    const result = await new ToolRegistry([tool]).execute({ id: 'm1', name: 'memory_recall', arguments: '{"query":"tea"}' }, { ...ctx, agent: semantic });
    assert.deepEqual(result, { callId: 'm1', name: 'memory_recall', ok: true, content: '1. Ada likes tea' });
    assert.deepEqual(asked, [['tea', 3]]);
  });

  it('agent definitions take http.allowHosts, refusing a URL in place of a host', () => {
    const raw = { ...builtinAgents()[0]!, http: { allowHosts: ['api.example.com', '*.example.org', '127.0.0.1'] } };
    assert.deepEqual(parseAgentDefinition(raw).http, raw.http);
    assert.throws(() => parseAgentDefinition({ ...raw, http: { allowHosts: ['https://example.com'] } }), /http\.allowHosts\.0/);
  });
});
