import { MemorySubjects, type MemoryHit, type MemoryRecallRpcReply, type MemoryWriteMessage } from '@keelson/contracts';
import { NoRespondersError, RequestTimeoutError, request, type PublishOptions } from '@keelson/messaging';
import type { NatsConnection } from 'nats';

export interface TurnRecall {
  memories: MemoryHit[];
  /** The latency budget ran out: the turn goes on without memories, and should record that. */
  late: boolean;
  tokens: number;
  /** Set when memory-service could not answer (not running, or an error): the turn goes on without memories. */
  unavailable?: string;
}

/** What an agent's `memory_recall` tool needs (the shape of @keelson/runtime's MemoryRecall). */
export interface BoundRecall {
  recall(query: string, topK: number, signal?: AbortSignal): Promise<{ content: string; score?: number }[]>;
}

interface Publisher {
  publish(subject: string, data: unknown, options?: PublishOptions): Promise<unknown>;
}

/**
 * How agent runtimes (session-agent, task-worker) use memory over NATS, without knowing the store:
 * recall before a turn within a latency budget, and hand the finished turn to the memory policy through
 * JetStream, so storing never delays the reply.
 */
export class MemoryClient {
  constructor(
    private readonly nats: NatsConnection,
    private readonly publisher?: Publisher,
  ) {}

  /**
   * The user's memories for this turn, best first, within `tokenBudget`. Never throws: past `timeoutMs`
   * (plus a little for the trip) it answers `late: true`; if memory-service cannot answer, `unavailable`.
   */
  async recallForTurn(
    tenant: string,
    userId: string,
    query: string,
    options: { topK?: number; tokenBudget?: number; timeoutMs?: number } = {},
  ): Promise<TurnRecall> {
    const timeoutMs = options.timeoutMs ?? 250;
    try {
      const reply = await request<MemoryRecallRpcReply>(
        this.nats,
        MemorySubjects.recallRpc,
        { tenant, userId, query: query.slice(0, 8_000), timeoutMs, ...(options.topK ? { topK: options.topK } : {}), ...(options.tokenBudget ? { tokenBudget: options.tokenBudget } : {}) },
        // memory-service answers `late` itself at timeoutMs; the margin covers the round trip.
        { timeoutMs: timeoutMs + 100 },
      );
      if (!reply.ok) return { memories: [], late: false, tokens: 0, unavailable: `${reply.code}: ${reply.message}` };
      return { memories: reply.memories, late: reply.late, tokens: reply.tokens };
    } catch (err) {
      if (err instanceof RequestTimeoutError) return { memories: [], late: true, tokens: 0 };
      if (err instanceof NoRespondersError) return { memories: [], late: false, tokens: 0, unavailable: 'memory-service is not running' };
      return { memories: [], late: false, tokens: 0, unavailable: (err as Error).message };
    }
  }

  /** A recall bound to one tenant and user, for the `memory_recall` tool; errors throw (the tool reports them). */
  bind(tenant: string, userId: string, timeoutMs = 2_000): BoundRecall {
    return {
      recall: async (query, topK) => {
        const r = await this.recallForTurn(tenant, userId, query, { topK, timeoutMs, tokenBudget: 100_000 });
        if (r.unavailable) throw new Error(`memory is not available: ${r.unavailable}`);
        if (r.late) throw new Error(`memory did not answer within ${timeoutMs} ms`);
        return r.memories.map((m) => ({ content: m.text, score: m.score }));
      },
    };
  }

  /**
   * Hands a finished turn to the memory policy (JetStream, `keelson.memory.writes.{tenant}`). Give `msgId`
   * (for example `{tenant}:{sessionId}:{turn}:memory`) so a re-published turn is dropped as a duplicate.
   */
  async rememberTurn(
    tenant: string,
    turn: { userId: string; userText: string; sessionId?: string; agentId?: string },
    msgId?: string,
  ): Promise<void> {
    if (!this.publisher) throw new Error('MemoryClient.rememberTurn needs a JetStream publisher');
    const message: MemoryWriteMessage = { type: 'turn', ...turn };
    await this.publisher.publish(MemorySubjects.writes(tenant), message, msgId ? { msgId } : {});
  }
}
