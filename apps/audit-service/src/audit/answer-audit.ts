import {
  AuditQueryRpcRequestSchema,
  AuditSubjects,
  AuditVerifyRpcRequestSchema,
  ErrorCodes,
  KeelsonError,
  parseOrThrow,
  type AuditQueryRpcReply,
  type AuditVerifyRpcReply,
} from '@keelson/contracts';
import { verifyRange, type AuditStore } from '@keelson/audit';
import { errorReply } from '@keelson/messaging';

/**
 * The query and verification RPCs without NestJS. The tenant comes in the request (the gateway puts the
 * caller's there); every read is scoped by it. Bad input is a 400 naming the field (a bad cursor: 400
 * invalid_cursor), never a thrown error.
 */
export function auditRpcHandlers(store: AuditStore): Record<string, (req: unknown) => Promise<AuditQueryRpcReply | AuditVerifyRpcReply>> {
  return {
    [AuditSubjects.queryRpc]: async (raw) => {
      try {
        const { tenant, ...query } = parseOrThrow(AuditQueryRpcRequestSchema, raw);
        checkOrder(query.from, query.to);
        const page = await store.query(tenant, query);
        return { ok: true, events: page.events, ...(page.nextCursor ? { nextCursor: page.nextCursor } : {}) };
      } catch (err) {
        return errorReply(err);
      }
    },
    [AuditSubjects.verifyRpc]: async (raw) => {
      try {
        const { tenant, ...range } = parseOrThrow(AuditVerifyRpcRequestSchema, raw);
        checkOrder(range.from, range.to);
        if (range.fromSeq !== undefined && range.toSeq !== undefined && range.fromSeq > range.toSeq) {
          throw new KeelsonError(400, ErrorCodes.validationFailed, 'fromSeq must not be after toSeq', 'fromSeq');
        }
        return { ok: true, result: await verifyRange(store, tenant, range) };
      } catch (err) {
        return errorReply(err);
      }
    },
  };
}

function checkOrder(from: string | undefined, to: string | undefined): void {
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to)) {
    throw new KeelsonError(400, ErrorCodes.validationFailed, '`from` must not be after `to`', 'from');
  }
}
