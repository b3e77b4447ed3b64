// Identity (apps/gateway/src/auth, libs/identity): the admin API for API keys, the access review, and which
// scope each route needs. Kept apart from generate.mjs, which passes in its helpers.

/** Schemas for `components` in generate.mjs: [id, schema, description, 'http' | 'nats' | 'both']. */
export function identityComponents(c) {
  return [
    ['ApiKeyView', c.ApiKeyViewSchema, 'An API key as the admin API shows it: never the key, never its hash.', 'http'],
    ['CreatedApiKey', c.CreatedApiKeySchema, 'A new key: `key` is shown this once and stored only as a salted hash.', 'http'],
    ['CreateApiKeyRequest', c.CreateApiKeyRequestSchema, undefined, 'http'],
    ['RotateApiKeyRequest', c.RotateApiKeyRequestSchema, undefined, 'http'],
  ];
}

/**
 * The scope each route needs, by path prefix (AuthGuard's @RequireScope); the first match wins. Routes of
 * /v1/guard differ per operation. `*` on a key grants every scope.
 */
export function scopeOf(c, path, method) {
  const S = c.Scopes;
  if (path.startsWith('/v1/guard/')) {
    if (path === '/v1/guard/reveal') return S.guardReveal;
    if (path === '/v1/guard/policy') return S.admin;
    return S.invoke;
  }
  const table = [
    ['/v1/agents/', S.invoke],
    ['/v1/chat/', S.invoke],
    ['/v1/models', S.invoke],
    ['/v1/sessions', S.sessions],
    ['/v1/tasks', S.tasks],
    ['/v1/approvals', S.tasks],
    ['/v1/memories', S.memory],
    ['/v1/audit/', S.auditRead],
    ['/v1/budgets', S.admin],
    ['/v1/usage', S.admin],
    ['/v1/keys', S.admin],
    ['/v1/access-review', S.admin],
    ['/v1/rollouts', S.admin],
    ['/v1/kill-switches', S.admin],
    ['/v1/ops/', S.opsRead],
  ];
  void method;
  return table.find(([prefix]) => path.startsWith(prefix))?.[1];
}

/** `h`: { c, json, ref, errorResponse, readErrors, bodyErrors } from generate.mjs. */
export function identityPaths(h) {
  const { c, json, ref, errorResponse, readErrors, bodyErrors } = h;
  const E = c.ErrorCodes;
  const keyId = { name: 'keyId', in: 'path', required: true, description: 'A key made through this API (`key` and 16 hex digits).', schema: { type: 'string' } };
  const query = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
  const notFound = errorResponse('No such key for this tenant (another tenant\'s key is unknown here too).', [E.notFound]);
  const notChangeable = errorResponse('The key is revoked, or comes from the mounted keys file (change it there).', [E.keyNotChangeable]);
  const beyond = errorResponse('The key lacks `admin`, or the new key would hold a scope the caller does not.', [E.forbidden]);
  const unavailable = errorResponse('The audit trail could not record the change; nothing was handed out. Retry.', [E.unavailable]);
  return {
    '/v1/keys': {
      get: {
        tags: ['identity'],
        operationId: 'listKeys',
        summary: "The tenant's API keys: made through this API and from the mounted file",
        responses: { 200: { description: 'Every key of the tenant.', content: json({ type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: ref('ApiKeyView') } } }) }, ...readErrors, 403: beyond },
      },
      post: {
        tags: ['identity'],
        operationId: 'createKey',
        summary: 'Create an API key with scopes (shown once)',
        description: 'The key reads `ks_{keyId}.{secret}`; only a salted SHA-256 of the secret is stored. An `admin.key_created` audit event is recorded first.',
        requestBody: { required: true, content: json(ref('CreateApiKeyRequest')) },
        responses: { 201: { description: 'The key, with the secret this once.', content: json(ref('CreatedApiKey')) }, ...bodyErrors, 403: beyond, 503: unavailable },
      },
    },
    '/v1/keys/{keyId}/rotate': {
      post: {
        tags: ['identity'],
        operationId: 'rotateKey',
        summary: 'A new key with the same name and scopes; the old one works for `graceSeconds` (default 3600)',
        parameters: [keyId],
        requestBody: { required: false, content: json(ref('RotateApiKeyRequest')) },
        responses: {
          201: {
            description: 'The new key (secret shown once) and the old one as it now stands.',
            content: json({ allOf: [ref('CreatedApiKey'), { type: 'object', required: ['previous'], properties: { previous: ref('ApiKeyView') } }] }),
          },
          ...bodyErrors,
          403: beyond,
          404: notFound,
          409: notChangeable,
          503: unavailable,
        },
      },
    },
    '/v1/keys/{keyId}': {
      delete: {
        tags: ['identity'],
        operationId: 'revokeKey',
        summary: 'Revoke a key: it stops working on every gateway replica within AUTH_CACHE_MS (at once on this one)',
        parameters: [keyId],
        responses: { 200: { description: 'The key, revoked.', content: json(ref('ApiKeyView')) }, ...readErrors, 403: beyond, 404: notFound, 409: notChangeable, 503: unavailable },
      },
    },
    '/v1/access-review': {
      get: {
        tags: ['identity'],
        operationId: 'accessReview',
        summary: 'Who accessed what: calls, denials and unusual activity per key, from the audit trail',
        description:
          'Per key (or `jwt:{sub}` for a token): calls by route, errors, denials by reason, source addresses, the busiest minute, and unusual activity: an address the key had not used in the equally long period before, a minute above 60 calls and 5 times the key\'s median, 10 or more denials in a minute. Plus every key created, rotated or revoked. Calls are written per key and minute, so the current minute shows once it has ended.',
        parameters: [
          query('from', 'Start (inclusive), ISO 8601; default 24 hours before `to`.'),
          query('to', 'End (exclusive), ISO 8601; default now. At most 31 days after `from`.'),
          query('format', '`json` (default) or `csv` (one row per key).', { enum: ['json', 'csv'] }),
        ],
        responses: {
          200: { description: 'The review.', content: { 'application/json': { schema: { type: 'object' } }, 'text/csv': { schema: { type: 'string' } } } },
          ...readErrors,
          400: errorResponse('A malformed time, `to` not after `from`, a range over 31 days, an unknown format or parameter.', [E.validationFailed]),
          403: beyond,
          503: errorResponse('audit-service is not running or did not answer in time.', [E.unavailable]),
        },
      },
    },
  };
}

/** Adds each operation's scope to its security requirement (OpenAPI 3.1 allows role names for http schemes) and a 403. */
export function withScopes(c, paths, errorResponse) {
  for (const [path, item] of Object.entries(paths)) {
    for (const [method, op] of Object.entries(item)) {
      if (typeof op !== 'object' || op === null || !('responses' in op) || Array.isArray(op.security)) continue;
      const scope = scopeOf(c, path, method);
      if (!scope) continue;
      op.security = [{ bearer: [scope] }];
      op.responses[403] ??= errorResponse(`The API key or token lacks the scope \`${scope}\`.`, [c.ErrorCodes.forbidden]);
    }
  }
  return paths;
}
