// The cost-control routes of the gateway (apps/gateway/src/cost): budgets and usage. Kept apart from
// generate.mjs, which passes in its helpers, so each group of routes stays a readable size.

/** `h`: { c, json, ref, errorResponse, readErrors, bodyErrors } from generate.mjs. */
export function costPaths(h) {
  const { c, json, ref, errorResponse, readErrors, bodyErrors } = h;
  const E = c.ErrorCodes;
  const budgetScope = {
    name: 'scope',
    in: 'path',
    required: true,
    description: 'Whose budget: the whole tenant, one agent, or one API key.',
    schema: { enum: ['tenant', 'agent', 'key'] },
  };
  const budgetWindow = { name: 'window', in: 'path', required: true, description: 'UTC day, UTC month, or no reset.', schema: { enum: ['day', 'month', 'total'] } };
  const query = (name, description, schema = { type: 'string' }) => ({ name, in: 'query', required: false, description, schema });
  return {
    '/v1/budgets': {
      get: {
        tags: ['cost'],
        operationId: 'listBudgets',
        summary: "The tenant's budgets: spent, reserved, remaining and reset time of each",
        responses: {
          200: { description: 'Every budget of the tenant.', content: json({ type: 'object', required: ['budgets'], properties: { budgets: { type: 'array', items: ref('BudgetState') } } }) },
          ...readErrors,
        },
      },
      put: {
        tags: ['cost'],
        operationId: 'setBudget',
        summary: 'Create or change a hard cap for the tenant, one of its agents, or one of its API keys',
        description:
          'A call is refused (402 `budget_exceeded`) when it would not fit under every budget that applies to it: the tenant\'s, its agent\'s and its API key\'s. Reservations are atomic across every replica (Redis Lua).',
        requestBody: {
          required: true,
          content: json({
            type: 'object',
            required: ['scope', 'window', 'limitUsd'],
            properties: {
              scope: { enum: ['tenant', 'agent', 'key'] },
              scopeId: { type: 'string', description: 'The agent id or API key id; required for `agent` and `key`, refused for `tenant`.' },
              window: { enum: ['day', 'month', 'total'] },
              limitUsd: { type: 'number', minimum: 0 },
              tokenLimit: { type: 'integer', minimum: 0, description: 'Also cap input + output tokens (for models the price table does not price).' },
            },
            additionalProperties: false,
          }),
        },
        responses: { 200: { description: 'The budget as it now stands.', content: json(ref('BudgetState')) }, ...bodyErrors },
      },
    },
    '/v1/budgets/{scope}/{window}': {
      delete: {
        tags: ['cost'],
        operationId: 'deleteBudget',
        summary: 'Remove a budget',
        parameters: [budgetScope, budgetWindow, query('scopeId', 'The agent id or API key id, for those scopes.')],
        responses: { 204: { description: 'Removed.' }, ...readErrors, 400: errorResponse('A malformed scope, window or scopeId.', [E.validationFailed]), 404: errorResponse('No such budget.', [E.notFound]) },
      },
    },
    '/v1/usage': {
      get: {
        tags: ['cost'],
        operationId: 'getUsage',
        summary: 'Usage records (one per model call) and their totals, from the KEELSON_USAGE stream',
        description:
          'Records in stream order from `from` (or after `cursor`) to `to`, at most `limit`; `totals` add up the records of this page. A page that stopped early has `truncated: true` and a `nextCursor`.',
        parameters: [
          query('agent', 'Only this agent.'),
          query('key', 'Only calls made with this API key id.'),
          query('from', 'ISO 8601; default the start of the stream.', { type: 'string', format: 'date-time' }),
          query('to', 'ISO 8601; default now.', { type: 'string', format: 'date-time' }),
          query('cursor', 'The `nextCursor` of the previous page.'),
          query('limit', 'Records per page, 1-1000 (default 100).', { type: 'integer', minimum: 1, maximum: 1000 }),
        ],
        responses: {
          200: {
            description: 'A page of usage records and its totals.',
            content: json({
              type: 'object',
              required: ['totals', 'records', 'routing'],
              properties: {
                totals: { type: 'object', description: 'calls, inputTokens, outputTokens, cachedInputTokens, costMicroUsd, costUsd, estimatedCalls, byModel, byAgent.' },
                records: { type: 'array', items: ref('UsageRecord') },
                routing: {
                  type: 'object',
                  description: 'Routing decisions of the UTC days from `from` to `to` (default the last 31): decisions, byTier, byReason, pinned, downgraded.',
                },
                truncated: { type: 'boolean' },
                nextCursor: { type: 'string' },
              },
            }),
          },
          ...readErrors,
          400: errorResponse('A malformed filter; `field` names it.', [E.validationFailed]),
        },
      },
    },
  };
}
