// Long-term memory (apps/gateway/src/memories, apps/memory-service): the HTTP routes of the gateway, and the
// NATS side (memory-service's request-reply RPCs). Kept apart from generate.mjs, which passes in its helpers,
// so each group stays a readable size.
import { rpcAnswer, rpcChannelPair } from './rpc-channels.mjs';

/** Seconds the gateway waits for memory-service (MEMORY_RPC_TIMEOUT_MS in apps/gateway/src/memories/memory-rpc-client.ts). */
const MEMORY_TIMEOUT_S = 10;

let built;
/** HTTP bodies the contracts hold only as parts; built once, so each is one registry entry. */
function httpSchemas(c) {
  built ??= {
    // The gateway answers each hit with its namespace too (memory-rpc-client.ts), which MemorySearchResponseSchema leaves out.
    searchResponse: c.MemorySearchResponseSchema.extend({
      results: c.MemoryHitSchema.pick({ id: true, text: true, score: true, metadata: true, namespace: true }).array(),
    }),
    namespaces: c.MemoryNamespacesRpcReplySchema.options[0].omit({ ok: true }),
    erased: c.MemoryDeleteRpcReplySchema.options[0].omit({ ok: true }),
  };
  return built;
}

/** Schemas for `components` in generate.mjs: [id, schema, description, 'http' | 'nats' | 'both']. */
export function memoryComponents(c) {
  const s = httpSchemas(c);
  return [
    [
      'MemoryItem',
      c.MemoryItemSchema,
      'One memory to store (the body of `POST /v1/memories`). `namespace` is `<scope>:<id>` with scope `user`, `agent`, `session` or `tenant`; a memory in `user:<id>`, or with `metadata.userId`, goes with that user\'s erasure. `text` is 1-8,000 characters after trimming, refused (never cut) when longer. Metadata is flat: at most 32 keys, each a string, number or boolean. `kind` is the collection (default: the service\'s first MEMORY_KINDS entry). With `id`, a retried write replaces the same memory instead of adding a second.',
      'both',
    ],
    ['CreateMemoryResponse', c.CreateMemoryResponseSchema, 'The id of the stored memory (the one given, or a new one).', 'http'],
    [
      'MemorySearchRequest',
      c.MemorySearchRequestSchema,
      '`query` is embedded and compared by cosine similarity. `namespace` and `kind` narrow the search; `filter` is an object of metadata keys, each an exact value or `{"in": [values]}`, every key to match (at most 16 keys), e.g. `{"userId": "ada", "topic": {"in": ["tea", "coffee"]}}`; `minScore` in [-1, 1] drops results below it.',
      'http',
    ],
    ['MemorySearchResponse', s.searchResponse, 'The best matches first; `score` is cosine similarity in [-1, 1] (1: same direction).', 'http'],
    ['MemoryView', c.MemoryViewSchema, 'A stored memory; `expiresAt` is set when it was stored with `ttlSeconds`.', 'both'],
    ['MemoryNamespaces', s.namespaces, 'Each kind and namespace holding the tenant\'s memories, with how many it holds.', 'http'],
    ['MemoryErased', s.erased, 'How many memories were deleted.', 'http'],
    ['MemoryHit', c.MemoryHitSchema, 'A stored memory with its cosine similarity to the query.', 'nats'],
    ['MemoryItemResult', c.MemoryItemResultSchema, 'The outcome of one item of a batch, at the item\'s index; a failed item names its field (`items[2].namespace`).', 'nats'],
    ['MemoryUpsertRpcRequest', c.MemoryUpsertRpcRequestSchema, '1-100 items, each checked on its own against MemoryItem, so one bad item fails alone and the rest are stored.', 'nats'],
    ['MemoryUpsertRpcReply', c.MemoryUpsertRpcReplySchema, undefined, 'nats'],
    ['MemorySearchRpcRequest', c.MemorySearchRpcRequestSchema, 'The body of `POST /v1/memories/search` and the tenant.', 'nats'],
    ['MemorySearchRpcReply', c.MemorySearchRpcReplySchema, undefined, 'nats'],
    ['MemoryIdRpcRequest', c.MemoryIdRpcRequestSchema, 'One memory of the tenant, by id (get and delete).', 'nats'],
    ['MemoryGetRpcReply', c.MemoryGetRpcReplySchema, undefined, 'nats'],
    ['MemoryDeleteRpcReply', c.MemoryDeleteRpcReplySchema, '`deleted`: 0 or 1 for a delete, the count for an erasure.', 'nats'],
    ['MemoryEraseRpcRequest', c.MemoryEraseRpcRequestSchema, 'Right to erasure: every memory of the user, in every kind.', 'nats'],
    ['MemoryNamespacesRpcRequest', c.MemoryNamespacesRpcRequestSchema, undefined, 'nats'],
    ['MemoryNamespacesRpcReply', c.MemoryNamespacesRpcReplySchema, undefined, 'nats'],
    [
      'MemoryRecallRpcRequest',
      c.MemoryRecallRpcRequestSchema,
      'The user\'s memories for a turn: a search of namespace `user:<userId>`, best first, as many as fit `tokenBudget` (4 characters a token), within `timeoutMs`.',
      'nats',
    ],
    ['MemoryRecallRpcReply', c.MemoryRecallRpcReplySchema, '`late: true` with no memories when the search did not finish within `timeoutMs`: the turn goes on without them.', 'nats'],
  ];
}

/** `h`: { c, json, ref, errorResponse, readErrors, bodyErrors } from generate.mjs. */
export function memoryPaths(h) {
  const { c, json, ref, errorResponse, readErrors, bodyErrors } = h;
  const E = c.ErrorCodes;
  const M = c.MemoryErrorCodes;
  const tags = ['memory'];
  const requestBody = (id) => ({ required: true, content: json(ref(id)) });
  const idParam = {
    name: 'id',
    in: 'path',
    required: true,
    description: 'The memory\'s id. A malformed one is 400 `validation_failed` (`field` `id`); another tenant\'s is 404, like an unknown one.',
    schema: { type: 'string', pattern: c.MEMORY_ID_PATTERN.source },
  };
  const notFound = errorResponse('No such memory for this tenant (expired, deleted, or never stored); `field` is `id`.', [M.memoryNotFound]);
  const badId = errorResponse('The id is malformed (1-128 characters of A-Z a-z 0-9 _ -); `field` is `id`.', [E.validationFailed]);
  const unavailable = errorResponse('memory-service is not running; try again shortly.', [E.unavailable]);
  const timeout = errorResponse(`memory-service did not answer within ${MEMORY_TIMEOUT_S} s.`, [E.timeout]);
  const mismatch = errorResponse(
    'The kind\'s collection holds vectors of another embedding model or dimension; they are never mixed (re-embed into a new kind instead).',
    [M.embeddingModelMismatch],
  );
  const embedUnavailable = errorResponse(
    'memory-service is not running, or the embeddings provider or the store failed or did not answer; try again shortly.',
    [E.unavailable, M.embeddingsUnavailable],
  );
  const via = (subject) => `Answered by memory-service (\`${subject}\`) for the API key's tenant only.`;
  return {
    '/v1/memories': {
      post: {
        tags,
        operationId: 'createMemory',
        summary: 'Store one memory',
        description: [
          `${via(c.MemorySubjects.upsertRpc)} The text is embedded and stored in the kind's collection, under its namespace.`,
          'With `id`, a retry replaces the same memory instead of adding a second. With `ttlSeconds`, it expires then.',
        ].join(' '),
        requestBody: requestBody('MemoryItem'),
        responses: {
          201: { description: 'Stored.', content: json(ref('CreateMemoryResponse')) },
          ...bodyErrors,
          400: errorResponse(
            'The body is not JSON, or a field is missing, malformed or unknown (a namespace not `<scope>:<id>`, an empty or too long text, more than 32 metadata keys, an unknown kind); `field` names it.',
            [E.invalidJson, E.validationFailed],
          ),
          409: mismatch,
          503: embedUnavailable,
          504: timeout,
        },
      },
      delete: {
        tags,
        operationId: 'eraseUserMemories',
        summary: 'Right to erasure: delete every memory of one user',
        description: [
          `${via(c.MemorySubjects.eraseRpc)} Deletes, in every kind, every memory whose \`metadata.userId\` is the user or whose`,
          'namespace is `user:<userId>`, and answers how many. It is a delete in the store, not a tombstone: the memories',
          'are gone from search, get and namespace listings as soon as the call returns.',
          '',
          'Every call is an `admin.memory_erased` audit event (the API key, the user id and the count), recorded after the',
          'erasure: if it cannot be recorded the answer is 503, though the memories are already gone; a retry records the',
          'event (with `deleted` 0).',
        ].join('\n'),
        parameters: [
          {
            name: 'userId',
            in: 'query',
            required: true,
            description: 'The user whose memories to erase: 1-128 characters of A-Z a-z 0-9 _ -.',
            schema: { type: 'string', pattern: '^[A-Za-z0-9_-]{1,128}$' },
          },
        ],
        responses: {
          200: { description: 'Erased; `deleted` may be 0.', content: json(ref('MemoryErased')) },
          ...readErrors,
          400: errorResponse('`userId` is missing or malformed; `field` is `userId`.', [E.validationFailed]),
          503: errorResponse(
            'memory-service is not running, or the `admin.memory_erased` audit event could not be recorded (the memories are then already erased); try again shortly.',
            [E.unavailable],
          ),
          504: timeout,
        },
      },
    },
    '/v1/memories/search': {
      post: {
        tags,
        operationId: 'searchMemories',
        summary: 'The tenant\'s memories closest in meaning to a query, best first',
        description: `${via(c.MemorySubjects.searchRpc)} The query is embedded, then compared with the stored memories of the kind (as far as the embedder understands meaning; see docs/memory.md).`,
        requestBody: requestBody('MemorySearchRequest'),
        responses: {
          200: { description: 'The matches, best first (up to `topK`, default 10).', content: json(ref('MemorySearchResponse')) },
          ...bodyErrors,
          400: errorResponse(
            'The body is not JSON, or a field is missing, malformed or unknown (`field` names it), or `filter` is not an object of metadata keys to values or `{"in": [...]}` (`invalid_filter`, `field` names the key, e.g. `filter.topic`).',
            [E.invalidJson, E.validationFailed, M.invalidFilter],
          ),
          409: mismatch,
          503: embedUnavailable,
          504: timeout,
        },
      },
    },
    '/v1/memories/namespaces': {
      get: {
        tags,
        operationId: 'listMemoryNamespaces',
        summary: 'The namespaces holding the tenant\'s memories, with counts',
        description: `${via(c.MemorySubjects.namespacesRpc)} One entry per kind and namespace. (A memory whose id is \`namespaces\` cannot be read with \`GET /v1/memories/{id}\`: this route answers.)`,
        responses: {
          200: { description: 'The namespaces.', content: json(ref('MemoryNamespaces')) },
          ...readErrors,
          503: unavailable,
          504: timeout,
        },
      },
    },
    '/v1/memories/{id}': {
      parameters: [idParam],
      get: {
        tags,
        operationId: 'getMemory',
        summary: 'One memory',
        description: via(c.MemorySubjects.getRpc),
        responses: {
          200: { description: 'The memory.', content: json(ref('MemoryView')) },
          ...readErrors,
          400: badId,
          404: notFound,
          503: unavailable,
          504: timeout,
        },
      },
      delete: {
        tags,
        operationId: 'deleteMemory',
        summary: 'Delete one memory',
        description: via(c.MemorySubjects.deleteRpc),
        responses: {
          204: { description: 'Deleted.' },
          ...readErrors,
          400: badId,
          404: notFound,
          503: unavailable,
          504: timeout,
        },
      },
    },
  };
}

/** `h`: { c, ref, message, traceHeaders } from generate.mjs. */
export function memoryChannels(h) {
  const { c, ref, message, traceHeaders } = h;
  const S = c.MemorySubjects;
  const rpc = (what) =>
    `Internal: ${what}. Core NATS request-reply, not JetStream: nothing is stored by the request itself. memory-service replicas answer as queue group \`${c.MemoryQueueGroup}\`. \`tenant\` is set by the caller, never by an HTTP client; no call reaches another tenant's memories. An error reply carries the HTTP status, code, message and field the gateway passes on.`;
  const channels = {};
  const cap = (key) => key[0].toUpperCase() + key.slice(1);
  const pair = (key, address, title, description, request, reply, replyShape) =>
    Object.assign(
      channels,
      rpcChannelPair(
        { ref, message, traceHeaders },
        { key, address, title, description, names: { request: `${cap(key)}Request`, reply: `${cap(key)}Reply` }, refs: { request, reply }, replyShape },
      ),
    );
  pair('memoryUpsert', S.upsertRpc, 'Memory upsert', rpc('stores a batch of memories (the gateway for `POST /v1/memories`, one item)'), 'MemoryUpsertRpcRequest', 'MemoryUpsertRpcReply', '`{ok: true, results}` (one per item, at its index)');
  pair('memorySearch', S.searchRpc, 'Memory search', rpc('`POST /v1/memories/search`, asked by the gateway'), 'MemorySearchRpcRequest', 'MemorySearchRpcReply', '`{ok: true, results}`');
  pair('memoryGet', S.getRpc, 'Memory get', rpc('`GET /v1/memories/{id}`, asked by the gateway'), 'MemoryIdRpcRequest', 'MemoryGetRpcReply', '`{ok: true, memory}`');
  pair('memoryDelete', S.deleteRpc, 'Memory delete', rpc('`DELETE /v1/memories/{id}`, asked by the gateway'), 'MemoryIdRpcRequest', 'MemoryDeleteRpcReply', '`{ok: true, deleted: 0 | 1}`');
  pair('memoryErase', S.eraseRpc, 'Memory erasure', rpc('`DELETE /v1/memories?userId=`, asked by the gateway (which records the `admin.memory_erased` audit event)'), 'MemoryEraseRpcRequest', 'MemoryDeleteRpcReply', '`{ok: true, deleted}`');
  pair('memoryNamespaces', S.namespacesRpc, 'Memory namespaces', rpc('`GET /v1/memories/namespaces`, asked by the gateway'), 'MemoryNamespacesRpcRequest', 'MemoryNamespacesRpcReply', '`{ok: true, namespaces}`');
  pair(
    'memoryRecall',
    S.recallRpc,
    'Memory recall',
    rpc(
      'the user\'s memories before a turn and for the `memory_recall` tool, asked by the agent runtimes (session-agent, task-worker). memory-service answers `late: true` itself at `timeoutMs`; a caller that gets no answer goes on without memories',
    ),
    'MemoryRecallRpcRequest',
    'MemoryRecallRpcReply',
    '`{ok: true, memories, late, tokens}`',
  );
  return channels;
}

/** `h`: { c } from generate.mjs. */
export function memoryOperations(h) {
  const { c } = h;
  const answer = rpcAnswer(c.MemoryQueueGroup);
  return {
    answerMemoryUpsert: answer('memoryUpsert', 'memory-service stores memories (internal)'),
    answerMemorySearch: answer('memorySearch', 'memory-service searches memories (internal)'),
    answerMemoryGet: answer('memoryGet', 'memory-service reads one memory (internal)'),
    answerMemoryDelete: answer('memoryDelete', 'memory-service deletes one memory (internal)'),
    answerMemoryErase: answer('memoryErase', 'memory-service erases a user\'s memories (internal)'),
    answerMemoryNamespaces: answer('memoryNamespaces', 'memory-service lists namespaces (internal)'),
    answerMemoryRecall: answer('memoryRecall', 'memory-service recalls a user\'s memories for a turn (internal)'),
  };
}
