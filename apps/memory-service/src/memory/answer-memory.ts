import {
  KeelsonError,
  MemoryEraseRpcRequestSchema,
  MemoryIdRpcRequestSchema,
  MemoryNamespacesRpcRequestSchema,
  MemoryRecallRpcRequestSchema,
  MemorySearchRpcRequestSchema,
  MemorySubjects,
  MemoryUpsertRpcRequestSchema,
  parseOrThrow,
} from '@keelson/contracts';
import type { MemoryService } from '@keelson/memory';
import { runWithTenant } from '@keelson/observability';

type Reply = { ok: true } & Record<string, unknown>;
type ErrorReply = { ok: false; status: number; code: string; message: string; field?: string };

/**
 * Each memory RPC as a plain function of the request: expected failures (validation, not found, model
 * mismatch) are replies in the HTTP error shape, so the gateway passes them on; anything else throws and
 * serveRequests answers 500.
 */
export function memoryRpcHandlers(memory: MemoryService): Record<string, (raw: unknown) => Promise<Reply | ErrorReply>> {
  const answer =
    <T extends { tenant: string }>(parse: (raw: unknown) => T, run: (req: T) => Promise<Record<string, unknown>>) =>
    async (raw: unknown): Promise<Reply | ErrorReply> => {
      try {
        const req = parse(raw);
        return { ok: true, ...(await runWithTenant(req.tenant, () => run(req))) };
      } catch (err) {
        if (err instanceof KeelsonError) return errorReply(err);
        throw err;
      }
    };
  return {
    [MemorySubjects.upsertRpc]: answer(
      (raw) => parseOrThrow(MemoryUpsertRpcRequestSchema, raw),
      async (req) => ({ results: await memory.upsert(req.tenant, req.items) }),
    ),
    [MemorySubjects.searchRpc]: answer(
      (raw) => parseOrThrow(MemorySearchRpcRequestSchema, raw),
      async ({ tenant, ...query }) => ({ results: await memory.search(tenant, query) }),
    ),
    [MemorySubjects.getRpc]: answer(
      (raw) => parseOrThrow(MemoryIdRpcRequestSchema, raw),
      async (req) => ({ memory: await memory.get(req.tenant, req.id, req.kind) }),
    ),
    [MemorySubjects.deleteRpc]: answer(
      (raw) => parseOrThrow(MemoryIdRpcRequestSchema, raw),
      async (req) => ({ deleted: (await memory.delete(req.tenant, req.id, req.kind)) ? 1 : 0 }),
    ),
    [MemorySubjects.eraseRpc]: answer(
      (raw) => parseOrThrow(MemoryEraseRpcRequestSchema, raw),
      async (req) => ({ deleted: await memory.eraseUser(req.tenant, req.userId) }),
    ),
    [MemorySubjects.namespacesRpc]: answer(
      (raw) => parseOrThrow(MemoryNamespacesRpcRequestSchema, raw),
      async (req) => ({ namespaces: await memory.listNamespaces(req.tenant, req.kind) }),
    ),
    [MemorySubjects.recallRpc]: answer(
      (raw) => parseOrThrow(MemoryRecallRpcRequestSchema, raw),
      async (req) => ({ ...(await memory.recallForTurn(req.tenant, req.userId, req.query, req)) }),
    ),
  };
}

function errorReply(err: KeelsonError): ErrorReply {
  return { ok: false, status: err.status, code: err.code, message: err.message, ...(err.field !== undefined ? { field: err.field } : {}) };
}
