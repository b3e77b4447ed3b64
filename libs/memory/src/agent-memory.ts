import { AsyncLocalStorage } from 'node:async_hooks';
import type { ChatMessage } from '@keelson/contracts';
import { metricsRegistry, secondsSince } from '@keelson/observability';
import type { BoundRecall, MemoryClient } from './memory-client';
import { traceRecall } from './tracing';

/** What an agent's memory policy says, as @keelson/runtime's AgentDefinition has it. */
export interface AgentMemoryPolicy {
  id: string;
  memory: { recall: 'none' } | { recall: 'semantic'; topK: number };
}

/** Whose memories a run may read: the tenant and the end user the session, task or invoke acts for. */
export interface MemoryScope {
  tenant: string;
  userId?: string;
}

export interface AgentMemoryOptions {
  /** How long a turn waits for its memories before it goes on without them. Default 250 ms. */
  recallTimeoutMs?: number;
  /** At most this many tokens of memories go into the context. Default 1,000. */
  tokenBudget?: number;
  logger: { info(message: string, meta?: Record<string, unknown>): void; warn(message: string, meta?: Record<string, unknown>): void };
}

const scopes = new AsyncLocalStorage<MemoryScope>();

/**
 * Memory as the agent runtimes use it, per the agent's memory policy: before a turn, the user's most
 * relevant memories go into the context (within a token and latency budget; a late or missing
 * memory-service is logged and the turn goes on without them); after it, the turn is handed to
 * memory-service over JetStream, so storing never delays the reply. Agents with `recall: none`, and
 * runs without a user, neither read nor write memories.
 */
export class AgentMemory {
  constructor(
    private readonly client: Pick<MemoryClient, 'recallForTurn' | 'rememberTurn' | 'bind'>,
    private readonly options: AgentMemoryOptions,
  ) {}

  /** The system message with the user's memories for this turn, or none. Never throws. */
  /** `screen` drops a recalled memory it refuses (the guard's check of content entering the context). */
  async contextFor(scope: MemoryScope, agent: AgentMemoryPolicy, query: string, screen?: (text: string) => boolean): Promise<ChatMessage[]> {
    if (agent.memory.recall !== 'semantic' || !scope.userId) return [];
    const userId = scope.userId;
    const startNs = process.hrtime.bigint();
    const recall = await traceRecall(agent.memory.topK, (topK) => this.client.recallForTurn(scope.tenant, userId, query, {
      topK,
      tokenBudget: this.options.tokenBudget ?? 1_000,
      timeoutMs: this.options.recallTimeoutMs ?? 250,
    }));
    const outcome = recall.late ? 'late' : recall.unavailable ? 'unavailable' : 'ok';
    metricsRegistry().histogram('memoryRecallDuration').observe({ outcome }, secondsSince(startNs));
    if (recall.late || recall.unavailable) {
      // The turn goes on without memories; the record says so (no user text in it).
      this.options.logger.warn('turn ran without memories', { agentId: agent.id, late: recall.late, unavailable: recall.unavailable });
      return [];
    }
    const memories = screen ? recall.memories.filter((m) => screen(m.text)) : recall.memories;
    if (memories.length === 0) return [];
    const lines = memories.map((m) => `- ${m.text}`).join('\n');
    return [{ role: 'system', content: `What you remember about this user (most relevant first):\n${lines}` }];
  }

  /** Hands a finished turn to the memory policy; `msgId` makes a re-sent turn count once. Never throws. */
  async remember(scope: MemoryScope, agent: AgentMemoryPolicy, turn: { userText: string; sessionId?: string }, msgId: string): Promise<void> {
    if (agent.memory.recall === 'none' || !scope.userId) return;
    try {
      await this.client.rememberTurn(scope.tenant, { userId: scope.userId, userText: turn.userText, agentId: agent.id, ...(turn.sessionId ? { sessionId: turn.sessionId } : {}) }, msgId);
    } catch (err) {
      this.options.logger.warn('could not hand a turn to memory', { agentId: agent.id, error: (err as Error).message });
    }
  }

  /** Runs `fn` with `scope` as the one the memory_recall tool reads (see `recallTool`). */
  static withScope<T>(scope: MemoryScope, fn: () => Promise<T>): Promise<T> {
    return scopes.run(scope, fn);
  }

  /** The memory_recall tool's back-end: recalls for the scope of the run that calls it. */
  recallTool(): BoundRecall {
    return {
      recall: async (query, topK, signal) => {
        const scope = scopes.getStore();
        if (!scope?.userId) throw new Error('this run has no user: memories are kept per user (set userId on the session, task or call)');
        return this.client.bind(scope.tenant, scope.userId).recall(query, topK, signal);
      },
    };
  }
}
