// Rollouts and kill switches (apps/gateway/src/rollouts, docs/rollouts.md): platform-wide, scope `admin`,
// operator tenants only. Kept apart from generate.mjs, which passes in its helpers.

/** Schemas for `components` in generate.mjs: [id, schema, description, 'http' | 'nats' | 'both']. */
export function rolloutComponents(c) {
  return [
    ['RolloutView', c.RolloutViewSchema, 'A rollout of an agent version, with the runs, failures and cost of stable and canary in its generation.', 'http'],
    ['PutRolloutRequest', c.PutRolloutRequestSchema, 'Starts a rollout (new versions, or after a rollback or promotion), or changes the running one.', 'http'],
    ['RolloutActionRequest', c.RolloutActionRequestSchema, undefined, 'http'],
    ['KillSwitch', c.KillSwitchSchema, 'A kill switch that is on: an agent for every tenant, or a tenant for every agent.', 'http'],
    ['SetKillSwitchRequest', c.SetKillSwitchRequestSchema, undefined, 'http'],
  ];
}

/** `h`: { c, json, ref, errorResponse, readErrors, bodyErrors } from generate.mjs. */
export function rolloutPaths(h) {
  const { c, json, ref, errorResponse, readErrors, bodyErrors } = h;
  const E = c.ErrorCodes;
  const tags = ['rollouts'];
  const agentId = { name: 'agentId', in: 'path', required: true, description: 'The agent id.', schema: { type: 'string' } };
  const kind = { name: 'kind', in: 'path', required: true, description: '`agent` (that agent, every tenant) or `tenant` (every agent of that tenant).', schema: { type: 'string', enum: ['agent', 'tenant'] } };
  const id = { name: 'id', in: 'path', required: true, description: 'The agent id or tenant id.', schema: { type: 'string' } };
  const operator = errorResponse('The key lacks `admin`, or its tenant is not an operator tenant (OPS_OPERATOR_TENANTS).', [E.forbidden]);
  const noRollout = errorResponse('The agent has no rollout.', [E.notFound]);
  const notChangeable = errorResponse('The rollout is promoted or rolled back already; start a new one with PUT.', [E.rolloutNotChangeable]);
  const unavailable = errorResponse('The audit trail could not record the change (the change was made; repeat the call).', [E.unavailable]);
  const view = { description: 'The rollout as it now stands, with its numbers.', content: json(ref('RolloutView')) };
  const action = (operationId, summary, description) => ({
    post: {
      tags,
      operationId,
      summary,
      description,
      parameters: [agentId],
      requestBody: { required: false, content: json(ref('RolloutActionRequest')) },
      responses: { 200: view, ...bodyErrors, 403: operator, 404: noRollout, 409: notChangeable, 503: unavailable },
    },
  });
  return {
    '/v1/rollouts': {
      get: {
        tags,
        operationId: 'listRollouts',
        summary: 'Every rollout, with the runs, failures and cost per run of stable and canary',
        responses: { 200: { description: 'The rollouts, by agent id.', content: json({ type: 'object', required: ['rollouts'], properties: { rollouts: { type: 'array', items: ref('RolloutView') } } }) }, ...readErrors, 403: operator },
      },
    },
    '/v1/rollouts/{agentId}': {
      get: {
        tags,
        operationId: 'getRollout',
        summary: "One agent's rollout with its numbers",
        parameters: [agentId],
        responses: { 200: view, ...readErrors, 403: operator, 404: noRollout },
      },
      put: {
        tags,
        operationId: 'putRollout',
        summary: 'Start a rollout, or change its share, thresholds, pins or pause it',
        description:
          'Both versions must be loaded (`<id>@<version>` files). New versions, or a PUT after a rollback or promotion, start a new generation (counters from zero); otherwise the counters are kept. Each run goes to the canary by a hash of its session id, task id or invoke run id. Recorded as `admin.rollout_set`.',
        parameters: [agentId],
        requestBody: { required: true, content: json(ref('PutRolloutRequest')) },
        responses: { 200: view, ...bodyErrors, 403: operator, 503: unavailable },
      },
    },
    '/v1/rollouts/{agentId}/promote': action('promoteRollout', 'The canary becomes stable for every run', 'State `promoted`, share 0. Recorded as `admin.rollout_promoted`.'),
    '/v1/rollouts/{agentId}/rollback': action(
      'rollbackRollout',
      'Every run back on stable',
      'State `rolled_back`, share 0. Recorded as `admin.rollout_rolled_back` (`trigger: manual`); the evaluator does the same by itself when the canary crosses a threshold after `minRuns`.',
    ),
    '/v1/kill-switches': {
      get: {
        tags,
        operationId: 'listKillSwitches',
        summary: 'The kill switches that are on',
        responses: { 200: { description: 'Agents and tenants switched off.', content: json({ type: 'object', required: ['killSwitches'], properties: { killSwitches: { type: 'array', items: ref('KillSwitch') } } }) }, ...readErrors, 403: operator },
      },
    },
    '/v1/kill-switches/{kind}/{id}': {
      put: {
        tags,
        operationId: 'setKillSwitch',
        summary: 'Switch an agent or a tenant off, with a reason',
        description:
          'From then on (on every replica within a second) requests get `503 agent_disabled` / `tenant_suspended`, queued tasks and turns end failed with that code. Recorded as `admin.kill_switch_set`.',
        parameters: [kind, id],
        requestBody: { required: true, content: json(ref('SetKillSwitchRequest')) },
        responses: { 200: { description: 'The switch, on.', content: json(ref('KillSwitch')) }, ...bodyErrors, 403: operator, 503: unavailable },
      },
      delete: {
        tags,
        operationId: 'clearKillSwitch',
        summary: 'Switch an agent or a tenant back on',
        description: 'Recorded as `admin.kill_switch_cleared`. Tasks that failed meanwhile stay failed.',
        parameters: [kind, id],
        responses: { 200: { description: 'The switch that was on.', content: json(ref('KillSwitch')) }, ...readErrors, 403: operator, 404: errorResponse('The switch was not on.', [E.notFound]), 503: unavailable },
      },
    },
  };
}
