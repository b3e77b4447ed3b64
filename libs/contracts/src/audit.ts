import { z } from 'zod';
import { RpcErrorReplySchema } from './rpc';
import { AGENT_ID_PATTERN, RESOURCE_ID_PATTERN, TENANT_ID_PATTERN } from './ids';
import type { ConsumerSpec, StreamSpec } from './streams';

/**
 * The audit trail: every reasoning step, model call, tool call, guard and policy decision, lifecycle change and
 * administrative action, published by the service where it happened onto `keelson.audit.{tenant}.{category}`
 * (KEELSON_AUDIT). audit-service stores each one once (by `id`), chained per tenant, and answers queries.
 * Events carry references (AuditRef) instead of large payloads. See docs/audit.md.
 */

/** The first segment of an event type; it is also the subject's last token. */
export const AUDIT_CATEGORIES = ['run', 'model', 'tool', 'guard', 'policy', 'session', 'task', 'admin', 'auth'] as const;
export type AuditCategory = (typeof AUDIT_CATEGORIES)[number];

/** The event types Keelson emits; a type is `{category}.{name}` (lowercase, `_` inside a name). */
export const AuditTypes = {
  runStarted: 'run.started',
  runCompleted: 'run.completed',
  runFailed: 'run.failed',
  /** One per model call of a run: which model answered, tokens, cost, how it ended (the usage record). */
  modelCall: 'model.call',
  toolCall: 'tool.call',
  toolResult: 'tool.result',
  toolApprovalRequired: 'tool.approval_required',
  toolApprovalDecided: 'tool.approval_decided',
  guardDecision: 'guard.decision',
  policyRouting: 'policy.routing',
  policyBudget: 'policy.budget',
  policyConcurrency: 'policy.concurrency',
  policyRateLimit: 'policy.rate_limit',
  sessionOpened: 'session.opened',
  sessionClosed: 'session.closed',
  /** audit-service stored the closed session's run log as JSON lines; the event's ref points to it. */
  sessionArchived: 'session.archived',
  taskAccepted: 'task.accepted',
  taskCompleted: 'task.completed',
  taskFailed: 'task.failed',
  taskArchived: 'task.archived',
  adminBudgetSet: 'admin.budget_set',
  adminBudgetDeleted: 'admin.budget_deleted',
  adminMemoryErased: 'admin.memory_erased',
  adminGuardPolicySet: 'admin.guard_policy_set',
  adminPseudonymRevealed: 'admin.pseudonym_revealed',
  adminKeyCreated: 'admin.key_created',
  adminKeyRotated: 'admin.key_rotated',
  adminKeyRevoked: 'admin.key_revoked',
  /** A rollout started or changed (share, thresholds, pins, paused) by an operator. */
  adminRolloutSet: 'admin.rollout_set',
  adminRolloutPromoted: 'admin.rollout_promoted',
  /** Rolled back by an operator, or by the evaluator (actor `system`, data naming the numbers that crossed). */
  adminRolloutRolledBack: 'admin.rollout_rolled_back',
  adminKillSwitchSet: 'admin.kill_switch_set',
  adminKillSwitchCleared: 'admin.kill_switch_cleared',
  /** A call refused with 401 or 403: the reason, the route, the source address, the key when known. */
  authDenied: 'auth.denied',
  /** One per key (or token subject) and minute with calls: counts per route and status class, source addresses. */
  authAccess: 'auth.access',
} as const;
export type AuditType = (typeof AuditTypes)[keyof typeof AuditTypes];

export const AUDIT_TYPE_PATTERN = new RegExp(`^(${AUDIT_CATEGORIES.join('|')})\\.[a-z][a-z_]{0,62}$`);
export const AUDIT_EVENT_ID_PATTERN = /^[\x21-\x7e]{1,256}$/;
export const TRACE_ID_PATTERN = /^[0-9a-f]{32}$/;
/** The largest event (its JSON) that goes on the stream; larger payloads are offloaded and referenced. */
export const MAX_AUDIT_EVENT_BYTES = 32 * 1024;

/** Who did it: an API key (by its id, never the key), a service acting on its own, an end user, or the system. */
export const AuditActorSchema = z
  .object({
    kind: z.enum(['api_key', 'service', 'user', 'system']),
    id: z.string().min(1).max(200),
  })
  .strict();
export type AuditActor = z.infer<typeof AuditActorSchema>;

/** A payload too large for the event, stored in object storage; `sha256` of the stored bytes proves it unchanged. */
export const AuditRefSchema = z
  .object({
    /** What it is: `tool_result`, `transcript`, `model_input`, `archive`, ... */
    kind: z.string().regex(/^[a-z][a-z_]{0,62}$/),
    bucket: z.string().min(3).max(63),
    key: z.string().min(1).max(1024),
    sha256: z.string().regex(/^[0-9a-f]{64}$/),
    bytes: z.number().int().nonnegative(),
    contentType: z.string().min(1).max(200).optional(),
  })
  .strict();
export type AuditRef = z.infer<typeof AuditRefSchema>;

const resourceId = z.string().regex(RESOURCE_ID_PATTERN);

export const AuditEventSchema = z
  .object({
    /** Stable for the occurrence (a re-publish carries the same id), so a redelivery never stores it twice. */
    id: z.string().regex(AUDIT_EVENT_ID_PATTERN, 'expected 1-256 printable ASCII characters'),
    tenant: z.string().regex(TENANT_ID_PATTERN),
    type: z.string().regex(AUDIT_TYPE_PATTERN, `expected {category}.{name} with a category of ${AUDIT_CATEGORIES.join(', ')}`),
    /** When it happened, at the publisher, ISO 8601 UTC. */
    time: z.iso.datetime(),
    /** The service that published it. */
    service: z.string().regex(/^[a-z][a-z0-9-]{0,62}$/),
    actor: AuditActorSchema,
    traceId: z.string().regex(TRACE_ID_PATTERN).optional(),
    spanId: z.string().regex(/^[0-9a-f]{16}$/).optional(),
    sessionId: resourceId.optional(),
    taskId: resourceId.optional(),
    runId: z.string().regex(/^[A-Za-z0-9_:-]{1,200}$/).optional(),
    agentId: z.string().regex(AGENT_ID_PATTERN).optional(),
    /** What happened, small and flat: ids, names, counts, reasons, short previews. Never a secret. */
    data: z.record(z.string(), z.unknown()).default({}),
    refs: z.array(AuditRefSchema).max(16).default([]),
  })
  .strict();
export type AuditEvent = z.infer<typeof AuditEventSchema>;
export type AuditEventInput = z.input<typeof AuditEventSchema>;

/** An event as stored: its place in the tenant's chain and the hashes that make changes visible. */
export const AuditRecordSchema = AuditEventSchema.extend({
  /** 1-based, gapless within the tenant. */
  seq: z.number().int().positive(),
  /** `hash` of the tenant's previous record; 64 zeros for the first one. */
  prevHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** sha256 over the canonical JSON of every other field of the record (see docs/audit.md). */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  /** When audit-service stored it. */
  storedAt: z.iso.datetime(),
});
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

export const GENESIS_HASH = '0'.repeat(64);

// --- Subjects, stream, consumer ---

export const AuditSubjects = {
  event: (tenant: string, category: AuditCategory) => `keelson.audit.${tenant}.${category}`,
  all: 'keelson.audit.>',
  queryRpc: 'keelson.rpc.audit.query',
  verifyRpc: 'keelson.rpc.audit.verify',
} as const;

export const AuditQueueGroup = 'keelson-audit';

export function auditCategoryOf(type: string): AuditCategory | undefined {
  const category = type.split('.')[0] as AuditCategory;
  return AUDIT_CATEGORIES.includes(category) ? category : undefined;
}

export function parseAuditSubject(subject: string): { tenant: string; category: AuditCategory } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'keelson' || parts[1] !== 'audit') return undefined;
  const category = auditCategoryOf(parts[3]!);
  return category ? { tenant: parts[2]!, category } : undefined;
}

const HOUR = 60 * 60_000;
const DAY = 24 * HOUR;

export const AuditStream = {
  name: 'KEELSON_AUDIT',
  subjects: [AuditSubjects.all],
  retention: 'limits',
  maxAgeMs: 7 * DAY,
  duplicateWindowMs: HOUR,
  description: 'Audit events on their way to audit-service, kept a week so the store can be rebuilt from them.',
} as const satisfies StreamSpec;

export const AuditConsumers = {
  writer: {
    stream: AuditStream.name,
    durable: 'audit-writer',
    filterSubject: AuditSubjects.all,
    // A write takes milliseconds (and the runner extends the clock while one runs): what a crashed replica
    // held comes back to another within 10 s.
    ackWaitMs: 10_000,
    maxDeliver: 10,
    maxAckPending: 2_048,
    retryBackoffMs: [250, 1_000, 5_000, 15_000],
    description: 'audit-service replicas share this consumer; an event is acknowledged only once stored.',
  },
} as const satisfies Record<string, ConsumerSpec>;

// --- Query and verification (core NATS request-reply, queue group keelson-audit) ---

export const MAX_AUDIT_PAGE = 500;

const isoTime = z.iso.datetime({ offset: true });

/** Filters of GET /v1/audit/events; every filter narrows, `from` is inclusive and `to` exclusive. */
export const AuditQuerySchema = z
  .object({
    traceId: z.string().regex(TRACE_ID_PATTERN, 'expected 32 lowercase hex characters').optional(),
    sessionId: resourceId.optional(),
    taskId: resourceId.optional(),
    runId: z.string().regex(/^[A-Za-z0-9_:-]{1,200}$/).optional(),
    /** `{kind}:{id}`, e.g. `api_key:ops-1`. */
    actor: z.string().regex(/^(api_key|service|user|system):.{1,200}$/, 'expected {kind}:{id}, e.g. api_key:ops-1').optional(),
    /** An exact type (`tool.call`) or a whole category (`tool`). */
    type: z.string().regex(/^[a-z][a-z_]{0,62}(\.[a-z][a-z_]{0,62})?$/, 'expected a type such as tool.call or a category such as tool').optional(),
    from: isoTime.optional(),
    to: isoTime.optional(),
    /** Opaque, from the previous page's nextCursor. */
    cursor: z.string().regex(/^[A-Za-z0-9_-]{1,200}$/, 'expected the nextCursor of a previous page').optional(),
    limit: z.coerce.number().int().min(1).max(MAX_AUDIT_PAGE).default(100),
  })
  .strict();
export type AuditQuery = z.infer<typeof AuditQuerySchema>;
export type AuditQueryInput = z.input<typeof AuditQuerySchema>;

/** A range of the tenant's chain to verify: by time, by seq, or the whole chain when neither is given. */
export const AuditVerifyRangeSchema = z
  .object({
    from: isoTime.optional(),
    to: isoTime.optional(),
    fromSeq: z.coerce.number().int().positive().optional(),
    toSeq: z.coerce.number().int().positive().optional(),
  })
  .strict();
export type AuditVerifyRange = z.infer<typeof AuditVerifyRangeSchema>;

export const AuditBreakSchema = z.object({
  seq: z.number().int().positive(),
  id: z.string().optional(),
  /** hash_mismatch: the record's content no longer matches its hash. prev_mismatch: its prevHash is not the
   * previous record's hash. gap: a seq is missing. */
  reason: z.enum(['hash_mismatch', 'prev_mismatch', 'gap']),
  message: z.string(),
});
export type AuditBreak = z.infer<typeof AuditBreakSchema>;

export const AuditVerifyResultSchema = z.object({
  ok: z.boolean(),
  /** Records checked, up to and including the first break. */
  checked: z.number().int().nonnegative(),
  firstSeq: z.number().int().positive().optional(),
  lastSeq: z.number().int().positive().optional(),
  /** Hash of the last record checked: pin it and a later verification proves nothing before it changed. */
  lastHash: z.string().optional(),
  break: AuditBreakSchema.optional(),
});
export type AuditVerifyResult = z.infer<typeof AuditVerifyResultSchema>;

const tenant = z.string().regex(TENANT_ID_PATTERN);
export const AuditQueryRpcRequestSchema = AuditQuerySchema.extend({ tenant });
export type AuditQueryRpcRequest = z.input<typeof AuditQueryRpcRequestSchema>;
export const AuditVerifyRpcRequestSchema = AuditVerifyRangeSchema.extend({ tenant });
export type AuditVerifyRpcRequest = z.input<typeof AuditVerifyRpcRequestSchema>;

export const AuditQueryRpcReplySchema = z.union([
  z.object({ ok: z.literal(true), events: z.array(AuditRecordSchema), nextCursor: z.string().optional() }),
  RpcErrorReplySchema,
]);
export type AuditQueryRpcReply = z.infer<typeof AuditQueryRpcReplySchema>;
export const AuditVerifyRpcReplySchema = z.union([z.object({ ok: z.literal(true), result: AuditVerifyResultSchema }), RpcErrorReplySchema]);
export type AuditVerifyRpcReply = z.infer<typeof AuditVerifyRpcReplySchema>;
