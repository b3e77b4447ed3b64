import type { Tool } from './tool';

/** One remembered item, as memory-service will return it. */
export interface Memory {
  content: string;
  score?: number;
}

/** Semantic recall; memory-service will implement it. Nothing implements it yet. */
export interface MemoryRecall {
  recall(query: string, topK: number, signal?: AbortSignal): Promise<Memory[]>;
}

export const MEMORY_NOT_AVAILABLE = 'memory is not available: memory-service does not offer recall yet';

/**
 * The `memory_recall` tool: the `topK` memories most relevant to `query` (default: the agent's memory
 * policy's topK, else 5). Without a MemoryRecall — and none exists until memory-service does — every call
 * fails with MEMORY_NOT_AVAILABLE; it never makes results up.
 */
export function memoryRecallTool(memory?: MemoryRecall): Tool {
  return {
    name: 'memory_recall',
    description: 'Recall stored memories relevant to a query, most relevant first.',
    parameters: {
      type: 'object',
      properties: {
        query: { type: 'string', minLength: 1, maxLength: 2000, description: 'What to look for' },
        topK: { type: 'integer', minimum: 1, maximum: 100, description: 'How many memories to return' },
      },
      required: ['query'],
      additionalProperties: false,
    },
    async run(args, ctx) {
      if (!memory) throw new Error(MEMORY_NOT_AVAILABLE);
      const policyTopK = ctx.agent.memory.recall === 'semantic' ? ctx.agent.memory.topK : 5;
      const topK = typeof args['topK'] === 'number' ? args['topK'] : policyTopK;
      const memories = await memory.recall(String(args['query']), topK, ctx.signal);
      if (memories.length === 0) return 'no memories found';
      return memories.map((m, i) => `${i + 1}. ${m.content}`).join('\n');
    },
  };
}
