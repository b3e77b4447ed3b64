import { Inject, Injectable } from '@nestjs/common';
import {
  CreateMemoryRequestSchema,
  ErrorCodes,
  KeelsonError,
  MemoryErrorCodes,
  MemorySearchRequestSchema,
  MemorySubjects,
  parseOrThrow,
  type ErrorCode,
  type MemoryDeleteRpcReply,
  type MemoryGetRpcReply,
  type MemoryNamespacesRpcReply,
  type MemorySearchRpcReply,
  type MemoryUpsertRpcReply,
  type MemoryView,
} from '@keelson/contracts';
import { NoRespondersError, RequestTimeoutError, request } from '@keelson/messaging';
import { NATS_CONNECTION } from '@keelson/nest-kit';
import type { NatsConnection } from 'nats';

/** How long the gateway waits for memory-service; a search embeds the query first, so allow for a remote embedder. */
export const MEMORY_RPC_TIMEOUT_MS = 10_000;

type ErrorHalf = { ok: false; status: number; code: string; message: string; field?: string };

/**
 * The gateway's side of the memory RPCs: validates the HTTP body (400 naming the field before anything is
 * sent), adds the caller's tenant, and turns every failure into a KeelsonError (503 nobody answering,
 * 504 timeout, or memory-service's own error reply).
 */
@Injectable()
export class MemoryRpcClient {
  constructor(@Inject(NATS_CONNECTION) private readonly nats: NatsConnection) {}

  private async call<R extends { ok: boolean }>(subject: string, body: unknown): Promise<Exclude<R, ErrorHalf>> {
    let reply: R;
    try {
      reply = await request<R>(this.nats, subject, body, { timeoutMs: MEMORY_RPC_TIMEOUT_MS });
    } catch (err) {
      if (err instanceof NoRespondersError) throw new KeelsonError(503, ErrorCodes.unavailable, 'memory-service is not running; try again shortly');
      if (err instanceof RequestTimeoutError) {
        throw new KeelsonError(504, ErrorCodes.timeout, `memory-service did not answer within ${MEMORY_RPC_TIMEOUT_MS} ms`);
      }
      throw err;
    }
    if (!reply.ok) {
      const e = reply as unknown as ErrorHalf;
      throw new KeelsonError(e.status, e.code as ErrorCode, e.message, e.field);
    }
    return reply as Exclude<R, ErrorHalf>;
  }

  async create(tenant: string, body: unknown): Promise<string> {
    const item = parseOrThrow(CreateMemoryRequestSchema, body);
    const reply = await this.call<MemoryUpsertRpcReply>(MemorySubjects.upsertRpc, { tenant, items: [item] });
    const result = reply.results[0]!;
    if (result.ok) return result.id;
    const field = result.field?.replace(/^items\[0\]\.?/, '') || undefined;
    throw new KeelsonError(statusOf(result.code), result.code as ErrorCode, result.message.replace(/^items\[0\]\.?/, ''), field);
  }

  async search(tenant: string, body: unknown): Promise<{ results: { id: string; text: string; score: number; metadata: MemoryView['metadata'] }[] }> {
    const query = parseOrThrow(MemorySearchRequestSchema, body);
    const reply = await this.call<MemorySearchRpcReply>(MemorySubjects.searchRpc, { tenant, ...query });
    return { results: reply.results.map((r) => ({ id: r.id, text: r.text, score: r.score, metadata: r.metadata, namespace: r.namespace })) };
  }

  async get(tenant: string, id: string): Promise<MemoryView> {
    return (await this.call<MemoryGetRpcReply>(MemorySubjects.getRpc, { tenant, id })).memory;
  }

  async delete(tenant: string, id: string): Promise<number> {
    return (await this.call<MemoryDeleteRpcReply>(MemorySubjects.deleteRpc, { tenant, id })).deleted;
  }

  async erase(tenant: string, userId: string | undefined): Promise<number> {
    if (!userId) throw new KeelsonError(400, ErrorCodes.validationFailed, 'userId: give the user whose memories to erase (?userId=...)', 'userId');
    return (await this.call<MemoryDeleteRpcReply>(MemorySubjects.eraseRpc, { tenant, userId })).deleted;
  }

  async namespaces(tenant: string): Promise<MemoryNamespacesRpcReply> {
    return this.call<MemoryNamespacesRpcReply>(MemorySubjects.namespacesRpc, { tenant });
  }
}

function statusOf(code: string): number {
  if (code === MemoryErrorCodes.embeddingsUnavailable || code === ErrorCodes.unavailable) return 503;
  if (code === MemoryErrorCodes.embeddingModelMismatch) return 409;
  return 400;
}
