import { z } from 'zod';
import { RpcErrorReplySchema } from './rpc';
import { RESOURCE_ID_PATTERN, TENANT_ID_PATTERN } from './ids';
import type { ConsumerSpec, StreamSpec } from './streams';

/**
 * Long-term memory (memory-service): namespaced texts with embeddings, semantic search, expiry and erasure.
 * Every request carries the tenant; the service never answers across tenants.
 */

/** The memory-service's own error codes, kept apart from ErrorCodes until the lead merges them. */
export const MemoryErrorCodes = {
  memoryNotFound: 'memory_not_found',
  /** A collection already holds vectors of another embedding model or dimension; they are never mixed. */
  embeddingModelMismatch: 'embedding_model_mismatch',
  /** A vector whose length is not the collection's dimension. */
  vectorDimensionMismatch: 'vector_dimension_mismatch',
  /** The embeddings provider failed or did not answer in time. */
  embeddingsUnavailable: 'embeddings_unavailable',
  /** A search filter that is not an object of metadata keys to scalars or `{ in: [...] }`. */
  invalidFilter: 'invalid_filter',
} as const;
export type MemoryErrorCode = (typeof MemoryErrorCodes)[keyof typeof MemoryErrorCodes];

/** Most characters in one memory's text; longer texts are refused, never cut. */
export const MAX_MEMORY_TEXT = 8_000;
export const MAX_MEMORY_BATCH = 100;
export const MAX_TOP_K = 100;

/**
 * `<scope>:<id>`, scope one of user, agent, session, tenant: `user:u-42`, `agent:assistant`, `tenant:shared`.
 * A memory in `user:<id>` belongs to that user and goes with the user's erasure.
 */
export const MEMORY_NAMESPACE_SCOPES = ['user', 'agent', 'session', 'tenant'] as const;
export const MEMORY_NAMESPACE_PATTERN = /^(user|agent|session|tenant):[A-Za-z0-9_-]{1,128}$/;
/** A memory kind is one collection (a LanceDB table per tenant, a Weaviate class): `memory`, `fact`, `summary`. */
export const MEMORY_KIND_PATTERN = /^[a-z][a-z0-9_]{0,31}$/;
export const MEMORY_ID_PATTERN = RESOURCE_ID_PATTERN;
export const METADATA_KEY_PATTERN = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

export const memoryNamespaceOf = (scope: (typeof MEMORY_NAMESPACE_SCOPES)[number], id: string): string => `${scope}:${id}`;

const namespace = z
  .string()
  .regex(MEMORY_NAMESPACE_PATTERN, `expected <scope>:<id> with scope one of ${MEMORY_NAMESPACE_SCOPES.join(', ')}, such as user:u-42`);
const kind = z.string().regex(MEMORY_KIND_PATTERN, 'expected a lower-case kind such as memory or fact');
const tenant = z.string().regex(TENANT_ID_PATTERN);
const memoryId = z.string().regex(MEMORY_ID_PATTERN, 'expected 1-128 characters of A-Z a-z 0-9 _ -');

export const MetadataValueSchema = z.union([z.string().max(1_000), z.number().finite(), z.boolean()]);
export type MetadataValue = z.infer<typeof MetadataValueSchema>;
/** Flat metadata: up to 32 keys, each a string, number or boolean. `userId` ties a memory to a user for erasure. */
export const MemoryMetadataSchema = z
  .record(z.string().regex(METADATA_KEY_PATTERN, 'expected a metadata key of letters, digits and _'), MetadataValueSchema)
  .refine((m) => Object.keys(m).length <= 32, 'at most 32 metadata keys');
export type MemoryMetadata = z.infer<typeof MemoryMetadataSchema>;

/** A filter on metadata: every key must match, by equality or membership in `in`. */
export const MemoryFilterSchema = z
  .record(
    z.string().regex(METADATA_KEY_PATTERN, 'expected a metadata key of letters, digits and _'),
    z.union([MetadataValueSchema, z.object({ in: z.array(MetadataValueSchema).min(1).max(100) }).strict()]),
  )
  .refine((f) => Object.keys(f).length <= 16, 'at most 16 filter keys');
export type MemoryFilter = z.infer<typeof MemoryFilterSchema>;

/** One memory to store. With `id` a retried write replaces the same memory instead of adding a second one. */
export const MemoryItemSchema = z
  .object({
    id: memoryId.optional(),
    kind: kind.optional(),
    namespace,
    text: z.string().trim().min(1, 'must not be empty').max(MAX_MEMORY_TEXT, `at most ${MAX_MEMORY_TEXT} characters`),
    metadata: MemoryMetadataSchema.optional(),
    ttlSeconds: z.number().int().positive().max(10 * 365 * 86_400).optional(),
  })
  .strict();
export type MemoryItem = z.infer<typeof MemoryItemSchema>;

/** `POST /v1/memories`: one memory -> 201 {id}. */
export const CreateMemoryRequestSchema = MemoryItemSchema;
export type CreateMemoryRequest = MemoryItem;
export const CreateMemoryResponseSchema = z.object({ id: z.string() });

export const MemorySearchRequestSchema = z
  .object({
    query: z.string().trim().min(1, 'must not be empty').max(MAX_MEMORY_TEXT, `at most ${MAX_MEMORY_TEXT} characters`),
    namespace: namespace.optional(),
    kind: kind.optional(),
    topK: z.number().int().min(1).max(MAX_TOP_K).default(10),
    filter: z.unknown().optional(),
    /** Cosine similarity in [-1, 1]; results below it are left out. */
    minScore: z.number().min(-1).max(1).optional(),
  })
  .strict();
export type MemorySearchRequest = z.input<typeof MemorySearchRequestSchema>;

export const MemoryViewSchema = z.object({
  id: z.string(),
  kind: z.string(),
  namespace: z.string(),
  text: z.string(),
  metadata: z.record(z.string(), MetadataValueSchema),
  createdAt: z.string(),
  expiresAt: z.string().optional(),
});
export type MemoryView = z.infer<typeof MemoryViewSchema>;

export const MemoryHitSchema = MemoryViewSchema.extend({ score: z.number() });
export type MemoryHit = z.infer<typeof MemoryHitSchema>;

export const MemorySearchResponseSchema = z.object({
  results: z.array(z.object({ id: z.string(), text: z.string(), score: z.number(), metadata: z.record(z.string(), MetadataValueSchema) })),
});

/** The outcome of one item of a batch, at the item's index; failed items name their field. */
export const MemoryItemResultSchema = z.union([
  z.object({ index: z.number().int(), ok: z.literal(true), id: z.string() }),
  z.object({
    index: z.number().int(),
    ok: z.literal(false),
    id: z.string().optional(),
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
  }),
]);
export type MemoryItemResult = z.infer<typeof MemoryItemResultSchema>;

// --- RPC (core NATS request-reply, queue group keelson-memory) ---

export const MemorySubjects = {
  upsertRpc: 'keelson.rpc.memory.upsert',
  searchRpc: 'keelson.rpc.memory.search',
  getRpc: 'keelson.rpc.memory.get',
  deleteRpc: 'keelson.rpc.memory.delete',
  eraseRpc: 'keelson.rpc.memory.erase',
  namespacesRpc: 'keelson.rpc.memory.namespaces',
  recallRpc: 'keelson.rpc.memory.recall',
  /** JetStream: asynchronous writes (a turn's memories), so storing never delays a reply. */
  writes: (tenantId: string) => `keelson.memory.writes.${tenantId}`,
  allWrites: 'keelson.memory.writes.>',
} as const;

export const MemoryQueueGroup = 'keelson-memory';

export function parseMemoryWriteSubject(subject: string): { tenant: string } | undefined {
  const parts = subject.split('.');
  if (parts.length !== 4 || parts[0] !== 'keelson' || parts[1] !== 'memory' || parts[2] !== 'writes') return undefined;
  return { tenant: parts[3]! };
}

/** Items are checked one by one against MemoryItemSchema, so one bad item fails alone and the rest are stored. */
export const MemoryUpsertRpcRequestSchema = z.object({
  tenant,
  items: z.array(z.unknown()).min(1).max(MAX_MEMORY_BATCH),
});
export type MemoryUpsertRpcRequest = z.infer<typeof MemoryUpsertRpcRequestSchema>;

export const MemorySearchRpcRequestSchema = MemorySearchRequestSchema.extend({ tenant });
export type MemorySearchRpcRequest = z.input<typeof MemorySearchRpcRequestSchema>;

export const MemoryIdRpcRequestSchema = z.object({ tenant, id: memoryId, kind: kind.optional() }).strict();
export type MemoryIdRpcRequest = z.infer<typeof MemoryIdRpcRequestSchema>;

/** Right to erasure: every memory whose metadata.userId is the user, or in namespace `user:<userId>`, in every kind. */
export const MemoryEraseRpcRequestSchema = z
  .object({ tenant, userId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'expected 1-128 characters of A-Z a-z 0-9 _ -') })
  .strict();
export type MemoryEraseRpcRequest = z.infer<typeof MemoryEraseRpcRequestSchema>;

export const MemoryNamespacesRpcRequestSchema = z.object({ tenant, kind: kind.optional() }).strict();

export const MemoryRecallRpcRequestSchema = z
  .object({
    tenant,
    userId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
    query: z.string().trim().min(1).max(MAX_MEMORY_TEXT),
    topK: z.number().int().min(1).max(MAX_TOP_K).default(5),
    /** Most tokens (estimated at 4 characters each) the recalled memories may take in the context. */
    tokenBudget: z.number().int().min(1).max(100_000).default(500),
    /** The latency budget: past it the reply is `late: true` with no memories, and the turn goes on. */
    timeoutMs: z.number().int().min(1).max(30_000).default(250),
  })
  .strict();
export type MemoryRecallRpcRequest = z.input<typeof MemoryRecallRpcRequestSchema>;


export const MemoryUpsertRpcReplySchema = z.union([z.object({ ok: z.literal(true), results: z.array(MemoryItemResultSchema) }), RpcErrorReplySchema]);
export type MemoryUpsertRpcReply = z.infer<typeof MemoryUpsertRpcReplySchema>;
export const MemorySearchRpcReplySchema = z.union([z.object({ ok: z.literal(true), results: z.array(MemoryHitSchema) }), RpcErrorReplySchema]);
export type MemorySearchRpcReply = z.infer<typeof MemorySearchRpcReplySchema>;
export const MemoryGetRpcReplySchema = z.union([z.object({ ok: z.literal(true), memory: MemoryViewSchema }), RpcErrorReplySchema]);
export type MemoryGetRpcReply = z.infer<typeof MemoryGetRpcReplySchema>;
export const MemoryDeleteRpcReplySchema = z.union([z.object({ ok: z.literal(true), deleted: z.number().int() }), RpcErrorReplySchema]);
export type MemoryDeleteRpcReply = z.infer<typeof MemoryDeleteRpcReplySchema>;
export const MemoryNamespacesRpcReplySchema = z.union([
  z.object({ ok: z.literal(true), namespaces: z.array(z.object({ kind: z.string(), namespace: z.string(), count: z.number().int() })) }),
  RpcErrorReplySchema,
]);
export type MemoryNamespacesRpcReply = z.infer<typeof MemoryNamespacesRpcReplySchema>;
export const MemoryRecallRpcReplySchema = z.union([
  z.object({ ok: z.literal(true), memories: z.array(MemoryHitSchema), late: z.boolean(), tokens: z.number().int() }),
  RpcErrorReplySchema,
]);
export type MemoryRecallRpcReply = z.infer<typeof MemoryRecallRpcReplySchema>;

// --- Asynchronous writes (JetStream) ---

/**
 * A message on `keelson.memory.writes.{tenant}`. `upsert` stores items (give each an `id`, so a redelivery
 * replaces rather than duplicates); `turn` hands a finished turn's user text to the memory policy, which
 * stores the facts the user stated under `user:<userId>` with ids derived from their text.
 */
export const MemoryWriteMessageSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('upsert'), items: z.array(z.unknown()).min(1).max(MAX_MEMORY_BATCH) }).strict(),
  z
    .object({
      type: z.literal('turn'),
      userId: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
      userText: z.string().min(1).max(100_000),
      sessionId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
      agentId: z.string().regex(RESOURCE_ID_PATTERN).optional(),
    })
    .strict(),
]);
export type MemoryWriteMessage = z.infer<typeof MemoryWriteMessageSchema>;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** To be registered in Streams (streams.ts) by the lead; memory-service provisions it itself until then. */
export const MemoryStreams = {
  writes: {
    name: 'KEELSON_MEMORY_WRITES',
    subjects: [MemorySubjects.allWrites],
    retention: 'workqueue',
    maxAgeMs: 7 * DAY,
    duplicateWindowMs: HOUR,
    description: 'Memory writes waiting for memory-service (a turn\'s facts, batch upserts); removed once stored.',
  },
} as const satisfies Record<string, StreamSpec>;

export const MemoryConsumers = {
  writer: {
    stream: MemoryStreams.writes.name,
    durable: 'memory-writer',
    filterSubject: MemorySubjects.allWrites,
    ackWaitMs: 30_000,
    maxDeliver: 5,
    maxAckPending: 256,
    retryBackoffMs: [500, 2_000, 8_000, 30_000],
    description: 'memory-service replicas share this consumer; a write is acknowledged once stored.',
  },
} as const satisfies Record<string, ConsumerSpec>;
