// The operator dashboard (apps/gateway/src/ops, apps/gateway/dashboard): its data routes, its static page, and the
// replica stats every service answers on NATS. Kept apart from generate.mjs, which passes in its helpers.

/** Schemas for `components` in generate.mjs: [id, schema, description, 'http' | 'nats' | 'both']. */
export function opsComponents(c) {
  return [
    [
      'OpsOverview',
      c.OpsOverviewSchema,
      'What the dashboard draws: this gateway replica\'s traffic per execution model, spend per tenant and model from KEELSON_USAGE, budget burn, and (operator tenants only) queues, replicas and activity; failed runs from the audit trail with links to their trace, audit records and run.',
      'http',
    ],
    ['RunReplay', c.RunReplaySchema, 'A task\'s run, or every turn of a session, as the run log holds it, for the run viewer.', 'http'],
    ['OpsReplicaStats', c.OpsReplicaStatsSchema, 'One process\'s identity, memory and the run gauges it keeps.', 'both'],
    ['LogLevelCommand', c.LogLevelCommandSchema, 'A new log level for every replica, or for one service\'s replicas.', 'nats'],
    ['ApiKeyRevoked', c.ApiKeyRevokedSchema, 'An API key every gateway replica must stop trusting now.', 'nats'],
  ];
}

/** `h`: { c, json, ref, errorResponse, readErrors } from generate.mjs. */
export function opsPaths(h) {
  const { c, json, ref, errorResponse, readErrors } = h;
  const E = c.ErrorCodes;
  const query = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
  const forbidden = errorResponse('The API key lacks the scope `ops:read`, or (runs) names another tenant without being of an operator tenant.', [E.forbidden]);
  return {
    '/v1/ops/overview': {
      get: {
        tags: ['ops'],
        operationId: 'opsOverview',
        summary: 'The operator dashboard\'s data over the last `window` seconds',
        description:
          'Scope `ops:read`. A key of a tenant in OPS_OPERATOR_TENANTS sees every tenant plus queues, replicas and activity; any other key sees its own tenant only. Traffic is what this gateway replica answered (docs/operations.md). A source that cannot be read leaves its part empty and is named in `warnings`.',
        parameters: [query('window', 'Seconds, 300 to 3600; default 900.', { type: 'integer', minimum: 300, maximum: 3600 })],
        responses: {
          200: { description: 'The overview.', content: json(ref('OpsOverview')) },
          ...readErrors,
          400: errorResponse('`window` out of range or not whole seconds.', [E.validationFailed]),
          403: forbidden,
        },
      },
    },
    '/v1/ops/runs': {
      get: {
        tags: ['ops'],
        operationId: 'opsRun',
        summary: 'A run\'s steps from the run log, for the run viewer',
        description: 'Scope `ops:read`. Exactly one of `taskId` and `sessionId` (every turn of the session).',
        parameters: [
          query('tenant', 'The run\'s tenant; default the caller\'s. Another tenant only for operator tenants.'),
          query('taskId', 'A task id.'),
          query('sessionId', 'A session id.'),
        ],
        responses: {
          200: { description: 'The steps, in order.', content: json(ref('RunReplay')) },
          ...readErrors,
          400: errorResponse('Neither or both ids, a malformed id or tenant, or an unknown parameter; `field` names it.', [E.validationFailed]),
          403: forbidden,
          404: errorResponse('The run log holds nothing for it (never run, or past retention).', [E.taskNotFound, E.sessionNotFound]),
        },
      },
    },
    '/dashboard': {
      get: {
        tags: ['ops'],
        operationId: 'dashboard',
        summary: 'The operator dashboard (HTML); its data comes from `/v1/ops/*` with the operator\'s key',
        security: [],
        responses: { 200: { description: 'The page.', content: { 'text/html': { schema: { type: 'string' } } } } },
      },
    },
  };
}

export function opsChannels(h) {
  const { c, ref, message } = h;
  return {
    opsStats: {
      address: c.OpsSubjects.stats,
      title: 'Replica stats (internal, core NATS scatter-gather)',
      description: 'The gateway asks with an empty message; every replica of every service answers (no queue group) within 300 ms with its OpsReplicaStats.',
      messages: { opsStatsReply: message('OpsReplicaStats', 'Replica stats', ref('OpsReplicaStats')) },
    },
    logLevel: {
      address: c.Subjects.logLevel,
      title: 'Log level at run time (internal, core NATS, operators only)',
      description: 'Every replica (or, with `service`, that service\'s replicas) switches its log level. Only the NATS operator identity may publish here.',
      messages: { logLevelCommand: message('LogLevelCommand', 'Log level command', ref('LogLevelCommand')) },
    },
    apiKeyRevoked: {
      address: c.Subjects.apiKeyRevoked,
      title: 'API key revoked (internal, core NATS, gateway to gateway)',
      description: 'Sent by the gateway replica that revoked a key (or rotated it without grace); every replica drops its cached verification at once. Redis holds the durable record.',
      messages: { apiKeyRevoked: message('ApiKeyRevoked', 'API key revoked', ref('ApiKeyRevoked')) },
    },
  };
}
