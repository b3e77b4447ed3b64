// The audit trail (apps/gateway/src/audit, apps/audit-service): the read-only HTTP routes of the gateway, and the
// NATS side (the KEELSON_AUDIT event channel and audit-service's query and verify RPCs). Kept apart from
// generate.mjs, which passes in its helpers, so each group stays a readable size.

/** Schemas for `components` in generate.mjs: [id, schema, description, 'http' | 'nats' | 'both']. */
export function auditComponents(c) {
  return [
    [
      'AuditRecord',
      c.AuditRecordSchema,
      'An audit event as audit-service stored it: `seq` (1-based, gapless per tenant), `prevHash` (the previous record\'s `hash`, 64 zeros for the first) and `hash` (sha256 over the record\'s canonical JSON, see docs/audit.md).',
      'both',
    ],
    [
      'AuditVerifyResult',
      c.AuditVerifyResultSchema,
      'The walk over a range of the tenant\'s chain: `ok` false with `break` at the first record whose hash, previous hash or sequence does not hold; `lastHash` can be pinned to prove later that nothing before it changed.',
      'http',
    ],
    [
      'AuditEvent',
      c.AuditEventSchema,
      'What a service publishes: small and flat, references (`refs`) to object storage instead of large payloads, never a secret.',
      'nats',
    ],
    ['AuditQueryRpcRequest', c.AuditQueryRpcRequestSchema, 'The filters of `GET /v1/audit/events` and the caller\'s tenant, set by the gateway.', 'nats'],
    ['AuditQueryRpcReply', c.AuditQueryRpcReplySchema, 'A page of records, or the HTTP status, error code, message and field the gateway passes on.', 'nats'],
    ['AuditVerifyRpcRequest', c.AuditVerifyRpcRequestSchema, 'The range of `GET /v1/audit/verify` and the caller\'s tenant, set by the gateway.', 'nats'],
    ['AuditVerifyRpcReply', c.AuditVerifyRpcReplySchema, 'The verification result, or the HTTP status, error code, message and field the gateway passes on.', 'nats'],
  ];
}

/** `h`: { c, json, ref, errorResponse, readErrors } from generate.mjs. */
export function auditPaths(h) {
  const { c, json, ref, errorResponse, readErrors } = h;
  const E = c.ErrorCodes;
  const query = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
  const time = (name, what) =>
    query(name, `${what}. ISO 8601: a date (midnight UTC) or a date-time with \`Z\` or an offset; the gateway sends it on in UTC.`);
  const filters = [
    query('traceId', 'Only events of this trace (32 lowercase hex characters).', { type: 'string', pattern: c.TRACE_ID_PATTERN.source }),
    query('sessionId', 'Only events of this session.'),
    query('taskId', 'Only events of this task.'),
    query('runId', 'Only events of this run (`{sessionId}:{turn}` or `{taskId}:{attempt}`).'),
    query('actor', 'Only events by this actor, `{kind}:{id}` with kind `api_key`, `service`, `user` or `system`, e.g. `api_key:ops-1`.'),
    query('type', 'An exact event type (`tool.call`) or a whole category (`tool`).'),
    time('from', 'Events at or after this time (inclusive)'),
    time('to', 'Events before this time (exclusive); must be later than `from`'),
  ];
  const rejected = errorResponse(
    'A malformed or repeated parameter, an unknown one (`tenant` included: the tenant is always the API key\'s), or `to` not later than `from`; `field` names it. audit-service may also refuse a parameter (an expired or foreign `cursor`) with its own status and code, passed on as they are.',
    [E.validationFailed],
  );
  const unavailable = errorResponse('audit-service is not running or did not answer in time (10 s); try again shortly.', [E.unavailable]);
  const errors = { ...readErrors, 400: rejected, 503: unavailable };
  const trailer = {
    oneOf: [
      {
        type: 'object',
        required: ['export', 'count'],
        properties: { export: { const: 'complete' }, count: { type: 'integer', minimum: 0, description: 'Records in this export.' } },
      },
      {
        type: 'object',
        required: ['export', 'count', 'error'],
        properties: {
          export: { const: 'incomplete' },
          count: { type: 'integer', minimum: 0, description: 'Records written before the failure.' },
          error: { type: 'object', required: ['code', 'message'], properties: { code: { type: 'string' }, message: { type: 'string' } } },
          cursor: { type: 'string', description: 'Pass as `cursor` to `GET /v1/audit/events` with the same filters to fetch the rest.' },
        },
      },
    ],
  };
  return {
    '/v1/audit/events': {
      get: {
        tags: ['audit'],
        operationId: 'listAuditEvents',
        summary: "The tenant's audit records matching every filter, in chain order, a page at a time",
        description:
          'Answered by audit-service (`keelson.rpc.audit.query`) for the API key\'s tenant only. Every filter narrows. A page with more after it has `nextCursor`: pass it back as `cursor` with the same filters. Records are append-only through the API: there is no write route under `/v1/audit` (another method is 404 `not_found`, as for any unknown route).',
        parameters: [
          ...filters,
          query('cursor', 'The `nextCursor` of the previous page (opaque).', { type: 'string', pattern: '^[A-Za-z0-9_-]{1,200}$' }),
          query('limit', `Records per page, 1-${c.MAX_AUDIT_PAGE} (default 100).`, { type: 'integer', minimum: 1, maximum: c.MAX_AUDIT_PAGE }),
        ],
        responses: {
          200: {
            description: 'A page of records.',
            content: json({
              type: 'object',
              required: ['events'],
              properties: { events: { type: 'array', items: ref('AuditRecord') }, nextCursor: { type: 'string', description: 'Set when more records match.' } },
            }),
          },
          ...errors,
        },
      },
    },
    '/v1/audit/verify': {
      get: {
        tags: ['audit'],
        operationId: 'verifyAuditChain',
        summary: "Walk a range of the tenant's hash chain and report the first break",
        description:
          'By time (`from`/`to`), by sequence (`fromSeq`/`toSeq`, inclusive), or the whole chain when neither is given. A changed, removed or reordered record shows as `ok: false` with `break` (`hash_mismatch`, `prev_mismatch` or `gap`) at the first record that no longer holds.',
        parameters: [
          time('from', 'Records of events at or after this time'),
          time('to', 'Records of events before this time; must be later than `from`'),
          query('fromSeq', 'The first record (1-based).', { type: 'integer', minimum: 1 }),
          query('toSeq', 'The last record, inclusive; not smaller than `fromSeq`.', { type: 'integer', minimum: 1 }),
        ],
        responses: { 200: { description: 'The result of the walk (200 also when the chain is broken).', content: json(ref('AuditVerifyResult')) }, ...errors },
      },
    },
    '/v1/audit/export': {
      get: {
        tags: ['audit'],
        operationId: 'exportAuditEvents',
        summary: "Every record matching the filters as JSON lines, ending with a trailer line that says whether the export is whole",
        description: [
          'The filters of `GET /v1/audit/events` (no `cursor` or `limit`: the gateway pages audit-service 500 records at a time).',
          'The body is `application/x-ndjson`: one AuditRecord per line, in chain order, then one trailer line, the only line',
          'with an `export` field:',
          '',
          '- `{"export":"complete","count":N}`: every matching record was written; N is how many.',
          '- `{"export":"incomplete","count":N,"error":{"code","message"},"cursor"?}`: a page after the first failed (for',
          '  example audit-service stopped answering); N records were written, and `cursor` with the same filters on',
          '  `GET /v1/audit/events` fetches the rest.',
          '',
          'An export is whole only when it ends with a `complete` trailer whose count matches the lines read; a body that ends',
          'without a trailer was cut off. Bad filters, and a failure before the first record (including 503 when audit-service',
          'is not running), are ordinary JSON error responses. The gateway stops paging when the client disconnects.',
        ].join('\n'),
        parameters: filters,
        responses: {
          200: {
            description: 'JSON lines: AuditRecord per line, then the trailer (see the description).',
            headers: { 'content-disposition': { description: '`attachment; filename="audit-{tenant}-{time}.ndjson"`.', schema: { type: 'string' } } },
            content: {
              'application/x-ndjson': {
                schema: { description: 'Each line is one of these, the trailer last.', oneOf: [ref('AuditRecord'), trailer] },
              },
            },
          },
          ...errors,
        },
      },
    },
  };
}

/** `h`: { c, ref, param, params, message, header, traceHeaders, jetstream } from generate.mjs. */
export function auditChannels(h) {
  const { c, ref, param, params, message, header, traceHeaders, jetstream } = h;
  const rpc = (what, queryName) =>
    `Internal: ${what}, asked by the gateway for the API key's tenant (\`tenant\` is set by the gateway, never by the HTTP caller). Core NATS request-reply, not JetStream: nothing is stored. audit-service replicas answer as queue group \`${c.AuditQueueGroup}\`. An error reply carries the HTTP status, code, message and field the gateway passes on (${queryName}); nobody answering within 10 s is 503 \`unavailable\` at the gateway.`;
  return {
    auditEvents: {
      address: c.AuditSubjects.event('{tenant}', '{category}'),
      title: 'Audit events',
      description: [
        'Every reasoning step, model call (with usage), tool call and result, guard and policy decision, session and task',
        'lifecycle change and administrative action, published by the service where it happened. The subject\'s last token',
        `is the category, the first segment of the event's \`type\`. Each publish carries \`${c.Headers.msgId}: {tenant}:{id}\`, so a`,
        're-published event is dropped within the duplicate window, and audit-service stores each `id` once after that.',
        `Events larger than ${c.MAX_AUDIT_EVENT_BYTES / 1024} KiB are refused: large payloads go to object storage and travel as \`refs\`.`,
        'A malformed event is dead-lettered on `keelson.dlq.keelson_audit` with the reason and never blocks the stream.',
      ].join('\n'),
      parameters: {
        tenant: params.tenant,
        category: param('The event category.', { enum: [...c.AUDIT_CATEGORIES] }),
      },
      messages: {
        auditEvent: message('AuditEvent', 'Audit event', ref('AuditEvent'), {
          headers: { [c.Headers.msgId]: header('`{tenant}:{id}` of the event.'), ...traceHeaders },
        }),
      },
      'x-jetstream': jetstream(c.Streams.audit),
    },
    auditQueryRpc: {
      address: c.AuditSubjects.queryRpc,
      title: 'Audit query (internal, core NATS request-reply)',
      description: rpc('one page of `GET /v1/audit/events` (and of each page of `/v1/audit/export`)', 'AuditQueryRpcReply'),
      messages: { auditQueryRequest: message('AuditQueryRequest', 'Audit query', ref('AuditQueryRpcRequest'), { headers: traceHeaders }) },
    },
    auditQueryRpcReply: {
      address: null,
      title: 'Audit query reply',
      description: 'The request\'s reply inbox: `{ok: true, events, nextCursor?}` or `{ok: false, status, code, message, field?}`.',
      messages: { auditQueryReply: message('AuditQueryReply', 'Audit query reply', ref('AuditQueryRpcReply')) },
    },
    auditVerifyRpc: {
      address: c.AuditSubjects.verifyRpc,
      title: 'Audit chain verification (internal, core NATS request-reply)',
      description: rpc('`GET /v1/audit/verify`', 'AuditVerifyRpcReply'),
      messages: { auditVerifyRequest: message('AuditVerifyRequest', 'Audit verification', ref('AuditVerifyRpcRequest'), { headers: traceHeaders }) },
    },
    auditVerifyRpcReply: {
      address: null,
      title: 'Audit verification reply',
      description: 'The request\'s reply inbox: `{ok: true, result}` or `{ok: false, status, code, message, field?}`.',
      messages: { auditVerifyReply: message('AuditVerifyReply', 'Audit verification reply', ref('AuditVerifyRpcReply')) },
    },
  };
}

/** `h`: { c } from generate.mjs. */
export function auditOperations(h) {
  const { c } = h;
  const queue = { nats: { queue: c.AuditQueueGroup, bindingVersion: '0.1.0' } };
  return {
    sendAuditEvent: {
      action: 'send',
      channel: { $ref: '#/channels/auditEvents' },
      title: 'Every service publishes audit events where they happen',
      messages: [{ $ref: '#/channels/auditEvents/messages/auditEvent' }],
    },
    receiveAuditEvent: {
      action: 'receive',
      channel: { $ref: '#/channels/auditEvents' },
      title: 'audit-service stores each event once, chained per tenant (durable consumer audit-writer)',
      messages: [{ $ref: '#/channels/auditEvents/messages/auditEvent' }],
    },
    answerAuditQuery: {
      action: 'receive',
      channel: { $ref: '#/channels/auditQueryRpc' },
      title: 'audit-service answers audit queries (internal)',
      messages: [{ $ref: '#/channels/auditQueryRpc/messages/auditQueryRequest' }],
      bindings: queue,
      reply: { channel: { $ref: '#/channels/auditQueryRpcReply' }, messages: [{ $ref: '#/channels/auditQueryRpcReply/messages/auditQueryReply' }] },
    },
    answerAuditVerify: {
      action: 'receive',
      channel: { $ref: '#/channels/auditVerifyRpc' },
      title: 'audit-service verifies ranges of a tenant\'s chain (internal)',
      messages: [{ $ref: '#/channels/auditVerifyRpc/messages/auditVerifyRequest' }],
      bindings: queue,
      reply: { channel: { $ref: '#/channels/auditVerifyRpcReply' }, messages: [{ $ref: '#/channels/auditVerifyRpcReply/messages/auditVerifyReply' }] },
    },
  };
}
