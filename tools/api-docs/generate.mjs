#!/usr/bin/env node
// Writes docs/api/openapi.json (HTTP) and docs/api/asyncapi.json (NATS) from the built contracts lib, so the
// published contract is the code's contract. Schemas come from zod 4's z.toJSONSchema() on the exported
// schemas; subjects, streams, headers, event types and error codes come from the same lib.
//
//   node tools/api-docs/generate.mjs            write both files
//   node tools/api-docs/generate.mjs --check    exit 1, naming each stale file, if the files on disk differ
//   --dir <path>                                read/write the files there instead of docs/api
//
// Needs libs/contracts/dist (npm run docs:api builds it first).
//
// What is written by hand here, because the contracts lib does not hold it: the routes and the statuses each
// can return (read from apps/gateway/src and libs/nest-kit/src/http/error-response.ts), the health bodies,
// the WebSocket frame shape, and the prose. Keep them in step with those files.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditChannels, auditComponents, auditOperations, auditPaths } from './audit-paths.mjs';
import { costPaths } from './cost-paths.mjs';
import { guardChannels, guardComponents, guardOperations, guardPaths } from './guard-paths.mjs';
import { memoryChannels, memoryComponents, memoryOperations, memoryPaths } from './memory-paths.mjs';
import { opsChannels, opsComponents, opsPaths } from './ops-paths.mjs';
import { identityComponents, identityPaths, withScopes } from './identity-paths.mjs';
import { rolloutComponents, rolloutPaths } from './rollouts-paths.mjs';

const root = fileURLToPath(new URL('../..', import.meta.url));
const require = createRequire(join(root, 'package.json'));
const contractsEntry = join(root, 'libs/contracts/dist/index.js');
if (!existsSync(contractsEntry)) {
  console.error(`api-docs: ${relative(process.cwd(), contractsEntry)} is missing; build it first: npx tsc -b libs/contracts`);
  process.exit(2);
}
const c = require(contractsEntry);
const { z } = require('zod');
const { version } = require(join(root, 'package.json'));

const args = process.argv.slice(2);
const check = args.includes('--check');
const dirAt = args.indexOf('--dir');
const outDir = dirAt >= 0 && args[dirAt + 1] ? resolve(args[dirAt + 1]) : join(root, 'docs/api');
const unknown = args.filter((a, i) => a !== '--check' && a !== '--dir' && !(dirAt >= 0 && i === dirAt + 1));
if (unknown.length) {
  console.error(`api-docs: unknown argument ${unknown.join(' ')}\nusage: generate.mjs [--check] [--dir <path>]`);
  process.exit(2);
}

const E = c.ErrorCodes;
const H = c.Headers;

// ---------------------------------------------------------------------------------------------------------
// Schemas. Request bodies are shown as clients send them (io: 'input'); responses and events use the same mode,
// so `additionalProperties: false` appears only where the server really refuses unknown fields (.strict()).

/** CloudEvent envelope with a fixed `type` and typed `data`, built from the contracts' envelope. */
const eventOf = (type, data) => c.CloudEventSchema.extend({ type: z.literal(type), data });

const HealthSchema = z.object({ status: z.literal('ok') });
const ReadinessSchema = z.object({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.string()),
});
const WsErrorFrameSchema = z.object({ event: z.literal('error'), data: c.ErrorBodySchema.shape.error });

/** [id, schema, description?, where]: `http` goes into openapi.json, `nats` into asyncapi.json, `both` into each. */
const components = [
  // Shared building blocks
  ['ErrorBody', c.ErrorBodySchema, 'Every HTTP error: `error.code` is stable and safe to switch on; `field` names the input at fault.', 'http'],
  ['ChatMessage', c.ChatMessageSchema, undefined, 'both'],
  ['Usage', c.UsageSchema, 'Token usage of one run.', 'both'],
  ['FinishReason', c.FinishReasonSchema, undefined, 'both'],
  ['RunOutcome', c.RunOutcomeSchema, 'What a finished run reports: the output, the model and the token usage.', 'both'],
  ['TaskStatus', c.TaskStatusSchema, undefined, 'http'],
  ['TaskError', c.TaskErrorSchema, undefined, 'both'],
  ['BudgetState', c.BudgetStateSchema, 'One budget: its cap, what is spent and reserved, what is left, and when it resets.', 'both'],
  ['UsageRecord', c.UsageRecordSchema, 'One model call: tokens, cost from the versioned price table, and whom it is charged to.', 'both'],
  [
    'CloudEvent',
    c.CloudEventSchema,
    'CloudEvents 1.0 structured-mode JSON envelope. `tenantid` is an extension attribute; `traceparent`/`tracestate` follow the Distributed Tracing extension.',
    'nats',
  ],
  // HTTP bodies
  ['Health', HealthSchema, '`GET /healthz`: the process answers.', 'http'],
  [
    'Readiness',
    ReadinessSchema,
    '`GET /readyz`: 200 when every dependency answers, 503 otherwise. `checks` has one entry per dependency (`nats`, and `redis` where the service uses it): "ok" or why it failed.',
    'http',
  ],
  ['InvokeRequest', c.InvokeRequestSchema, 'Give exactly one of `input` (one user message) or `messages` (the whole conversation).', 'http'],
  ['CreateSessionRequest', c.CreateSessionRequestSchema, undefined, 'http'],
  ['SessionCreated', c.SessionCreatedSchema, undefined, 'http'],
  ['SessionView', c.SessionViewSchema, 'A session and its kept history (the last SESSION_MAX_MESSAGES messages).', 'http'],
  ['SendMessageRequest', c.SendMessageRequestSchema, 'One turn; also the body of one WebSocket text frame.', 'http'],
  ['TurnReply', c.TurnReplySchema, undefined, 'http'],
  ['CreateTaskRequest', c.CreateTaskRequestSchema, undefined, 'http'],
  ['TaskAccepted', c.TaskAcceptedSchema, "`duplicate` is true when the idempotency key was seen before; `taskId` is then the first task's id.", 'http'],
  ['TaskView', c.TaskViewSchema, '`result` is set once the task succeeded, `error` once it failed.', 'http'],
  // Run log and results
  ['RunStarted', c.RunStartedSchema, undefined, 'both'],
  ['RunDelta', c.RunDeltaSchema, 'A piece of the reply text. `seq` counts deltas within one attempt.', 'both'],
  ['RunCompleted', c.RunCompletedSchema, undefined, 'both'],
  ['RunFailed', c.RunFailedSchema, undefined, 'both'],
  ['RunStartedEvent', eventOf(c.EventTypes.runStarted, c.RunStartedSchema), undefined, 'both'],
  ['RunDeltaEvent', eventOf(c.EventTypes.runDelta, c.RunDeltaSchema), undefined, 'both'],
  ['RunCompletedEvent', eventOf(c.EventTypes.runCompleted, c.RunCompletedSchema), undefined, 'both'],
  ['RunFailedEvent', eventOf(c.EventTypes.runFailed, c.RunFailedSchema), undefined, 'both'],
  ['RunToolCallEvent', eventOf(c.EventTypes.runToolCall, c.RunToolCallSchema), 'The model asked for a tool; its arguments as the model wrote them.', 'both'],
  [
    'RunRoutedEvent',
    eventOf(c.EventTypes.runRouted, c.RunRoutedSchema),
    'A routing policy chose the model of this call: the tier, the candidate, the reasons, and the candidates that failed before it.',
    'both',
  ],
  ['RunToolResultEvent', eventOf(c.EventTypes.runToolResult, c.RunToolResultSchema), 'What the tool returned to the model; `ok: false` for a refused or failed call.', 'both'],
  [
    'RunApprovalRequiredEvent',
    eventOf(c.EventTypes.runApprovalRequired, c.RunApprovalRequiredSchema),
    'The run paused: this tool call waits for `POST /v1/approvals/{approvalId}` (or a NATS approval); undecided at `expiresAt`, it counts as rejected.',
    'both',
  ],
  ['ApprovalDecision', c.ApprovalDecisionSchema, 'Approve or reject the tool call a paused task waits on; `reason` goes back to the model with a rejection.', 'both'],
  ['ApprovalAccepted', c.ApprovalAcceptedSchema, undefined, 'http'],
  [
    'SessionPolicyEvent',
    eventOf(c.EventTypes.sessionPolicy, c.SessionPolicyDecisionSchema),
    'A concurrency decision (onBusy): a message that arrived while another turn ran was queued, rejected or interrupted it.',
    'both',
  ],
  ['TaskResult', c.TaskResultSchema, 'The one final result of a task: `output` and `usage` on success, `error` on failure.', 'nats'],
  ['TaskCompletedEvent', eventOf(c.EventTypes.taskCompleted, c.TaskResultSchema), undefined, 'nats'],
  ['TaskFailedEvent', eventOf(c.EventTypes.taskFailed, c.TaskResultSchema), undefined, 'nats'],
  ['WsErrorFrame', WsErrorFrameSchema, 'A WebSocket frame reporting an error for the frame just sent; the socket stays open.', 'http'],
  // NATS-only payloads
  [
    'TaskMessage',
    c.TaskMessageSchema,
    'A task as published on NATS: plain JSON, not a CloudEvent. Tenant and agent come from the subject. Extra fields are ignored.',
    'nats',
  ],
  ['SessionTurn', c.SessionTurnSchema, undefined, 'nats'],
  ['InvokeRpcRequest', c.InvokeRpcRequestSchema, undefined, 'nats'],
  ['InvokeRpcReply', c.InvokeRpcReplySchema, undefined, 'nats'],
  ...auditComponents(c),
  ...guardComponents(c),
  ...memoryComponents(c),
  ...opsComponents(c),
  ...identityComponents(c),
  ...rolloutComponents(c),
];

function buildSchemas(target, where) {
  const registry = z.registry();
  for (const [id, schema, description, scope] of components) {
    if (scope === where || scope === 'both') registry.add(schema, description ? { id, description } : { id });
  }
  const { schemas } = z.toJSONSchema(registry, {
    target,
    io: 'input',
    unrepresentable: 'any',
    metadata: registry,
    uri: (id) => `#/components/schemas/${id}`,
  });
  for (const schema of Object.values(schemas)) {
    delete schema.$schema;
    delete schema.$id;
  }
  // The refine in invoke.ts ("exactly one of input or messages") has no JSON Schema form of its own.
  if (schemas.InvokeRequest) schemas.InvokeRequest.oneOf = [{ required: ['input'] }, { required: ['messages'] }];
  return schemas;
}

const ref = (id) => ({ $ref: `#/components/schemas/${id}` });

// ---------------------------------------------------------------------------------------------------------
// OpenAPI 3.1

const json = (schema) => ({ 'application/json': { schema } });

/** One error response: the ErrorBody with `error.code` narrowed to the codes this route returns with this status. */
function errorResponse(description, codes) {
  return {
    description: `${description} Codes: ${codes.map((code) => `\`${code}\``).join(', ')}.`,
    content: json({
      allOf: [ref('ErrorBody'), { type: 'object', properties: { error: { type: 'object', properties: { code: { enum: codes } } } } }],
    }),
  };
}

const err = {
  badBody: errorResponse(
    'The body is not JSON, or a field is missing, of the wrong type, out of range or unknown; `field` and `details` name it.',
    [E.invalidJson, E.validationFailed],
  ),
  unauthorized: errorResponse('No `Authorization: Bearer <api key>` header, a malformed one, or an unknown key.', [E.unauthorized]),
  tooLarge: errorResponse('The body is larger than the gateway allows (BODY_LIMIT_BYTES, 1 MiB by default).', [E.payloadTooLarge]),
  mediaType: errorResponse('A body was sent with a content type other than `application/json`.', [E.unsupportedMediaType]),
  internal: errorResponse('An unexpected failure, for example Redis not answering. Not caused by the request.', [E.internal]),
  rateLimited: errorResponse(
    'A requests- or tokens-per-minute limit of the tenant or the API key is used up; `Retry-After` says when to try again and `limit` names it.',
    [E.rateLimited],
  ),
  budget: errorResponse(
    'A budget of the tenant, the agent or the API key has no room for the call; `budget` names it, with what is left and when it resets.',
    [E.budgetExceeded],
  ),
};


const openaiModel = {
  type: 'object',
  required: ['id', 'object', 'created', 'owned_by'],
  properties: { id: { type: 'string' }, object: { const: 'model' }, created: { type: 'integer' }, owned_by: { const: 'keelson' } },
};

/** An error in OpenAI's shape, which only the OpenAI-compatible routes use. */
function openaiError(description) {
  return {
    description,
    content: json({
      type: 'object',
      required: ['error'],
      properties: { error: { type: 'object', properties: { message: { type: 'string' }, type: { type: 'string' }, param: { type: ['string', 'null'] }, code: { type: ['string', 'null'] } } } },
    }),
  };
}

const bodyErrors = { 400: err.badBody, 401: err.unauthorized, 413: err.tooLarge, 415: err.mediaType, 429: err.rateLimited, 500: err.internal };
const readErrors = { 401: err.unauthorized, 429: err.rateLimited, 500: err.internal };

const pathParam = (name, description, pattern) => ({
  name,
  in: 'path',
  required: true,
  description,
  schema: pattern ? { type: 'string', pattern: pattern.source } : { type: 'string' },
});
const agentIdParam = pathParam('agentId', 'An agent id such as `assistant`. An unknown or malformed id is 404 `agent_not_found`.');
const sessionIdParam = pathParam('sessionId', 'As returned by `POST /v1/sessions`. An unknown, expired or malformed id is 404 `session_not_found`.');
const taskIdParam = pathParam('taskId', 'As returned by `POST /v1/tasks`. An unknown, expired or malformed id is 404 `task_not_found`.');

const requestBody = (id) => ({ required: true, content: json(ref(id)) });

/** The SSE events of one run; `x-sse-events` maps each event name to the schema of its `data` line. */
const runSseEvents = {
  [c.RunEventNames.started]: ref('RunStartedEvent'),
  [c.RunEventNames.delta]: ref('RunDeltaEvent'),
  [c.RunEventNames.completed]: ref('RunCompletedEvent'),
  [c.RunEventNames.failed]: ref('RunFailedEvent'),
  [c.RunEventNames.policy]: ref('SessionPolicyEvent'),
  [c.RunEventNames.routed]: ref('RunRoutedEvent'),
};

function openapi(schemas) {
  return {
    openapi: '3.1.0',
    info: {
      title: 'Keelson gateway HTTP API',
      version,
      description: [
        'The public HTTP API of the Keelson gateway (port 8080 by default). JSON in and out; `Authorization: Bearer <api key>`',
        'on every `/v1` route, the key identifying the tenant. Every resource is scoped to the caller\'s tenant: another',
        'tenant\'s session or task is 404, exactly like one that does not exist.',
        '',
        'Errors always have the body `{"error": {"code", "message", "field"?, "details"?}}`. The codes are listed per',
        'response below; an unknown route or method is 404 `not_found`.',
        '',
        'Generated by tools/api-docs/generate.mjs from libs/contracts; do not edit by hand.',
      ].join('\n'),
      license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
    },
    servers: [{ url: 'http://127.0.0.1:8080', description: 'The local stack started by `npm start`.' }],
    security: [{ bearer: [] }],
    tags: [
      { name: 'health', description: 'Liveness and readiness; no authentication.' },
      { name: 'stateless', description: 'Request-response: the body carries the whole context, nothing is stored.' },
      { name: 'sessions', description: 'Stateful sessions: the history lives in Redis, turns run one at a time in order.' },
      { name: 'tasks', description: 'Async tasks: 202 once JetStream holds the task; poll, stream, or subscribe on NATS for the result.' },
      { name: 'audit', description: 'The audit trail, read-only: query by trace, session, task, run, actor, type and time, verify the hash chain, export as JSON lines.' },
      { name: 'cost', description: 'Budgets and usage: hard caps per tenant, agent and API key, and one usage record per model call.' },
      { name: 'guard', description: 'The guard for the tenant\'s own apps: prompt-injection checks, PII and secrets redaction, the tenant\'s guard policy, and the audited reveal of pseudonyms. Answered by guard-service.' },
      { name: 'memory', description: 'Long-term memory: namespaced texts searched by meaning, with expiry and per-user erasure. Answered by memory-service.' },
      { name: 'identity', description: 'API keys with scopes (create, list, rotate, revoke) and the access review. Scope `admin`.' },
      { name: 'rollouts', description: 'Agent versions rolled out by traffic share with automatic rollback, and kill switches per agent and per tenant. Scope `admin`, operator tenants only (docs/rollouts.md).' },
      { name: 'ops', description: 'The operator dashboard and its data: traffic, latency, errors, spend and budget burn, queues, replicas, failed runs and the run viewer. Scope `ops:read`.' },
      { name: 'openai', description: 'OpenAI-compatible: existing OpenAI SDK clients work unchanged; `model` is a Keelson agent id. Errors on these routes use OpenAI\'s shape `{error:{message,type,param,code}}`.' },
    ],
    paths: withScopes(c, {
      ...identityPaths({ c, json, ref, errorResponse, readErrors, bodyErrors }),
      ...rolloutPaths({ c, json, ref, errorResponse, readErrors, bodyErrors }),
      ...costPaths({ c, json, ref, errorResponse, readErrors, bodyErrors }),
      ...auditPaths({ c, json, ref, errorResponse, readErrors }),
      ...guardPaths({ c, json, ref, errorResponse, readErrors, bodyErrors }),
      ...memoryPaths({ c, json, ref, errorResponse, readErrors, bodyErrors }),
      ...opsPaths({ c, json, ref, errorResponse, readErrors }),
      '/v1/models': {
        get: {
          tags: ['openai'],
          operationId: 'listModels',
          summary: 'The agents this gateway serves, as OpenAI models',
          responses: {
            200: {
              description: '`{object: "list", data: [{id, object: "model", created, owned_by: "keelson"}]}`, one entry per agent.',
              content: json({ type: 'object', required: ['object', 'data'], properties: { object: { const: 'list' }, data: { type: 'array', items: openaiModel } } }),
            },
            401: openaiError('Missing or unknown API key.'),
          },
        },
      },
      '/v1/models/{model}': {
        get: {
          tags: ['openai'],
          operationId: 'getModel',
          summary: 'One agent, as an OpenAI model',
          parameters: [pathParam('model', 'An agent id.')],
          responses: { 200: { description: 'The model.', content: json(openaiModel) }, 401: openaiError('Missing or unknown API key.'), 404: openaiError('No such agent (`code: model_not_found`).') },
        },
      },
      '/v1/chat/completions': {
        post: {
          tags: ['openai'],
          operationId: 'createChatCompletion',
          summary: 'OpenAI chat completions, run by a Keelson agent (stateless)',
          description: [
            'The OpenAI request shape: `model` (an agent id), `messages` (system, user and assistant; string content or text parts),',
            '`stream`, `stream_options.include_usage`, `max_tokens` / `max_completion_tokens` (cap the agent\'s limit), `n` = 1 only.',
            'Unknown fields are ignored, as OpenAI clients send many. `tools` are not taken over this API yet.',
            'Non-streamed: a `chat.completion` object. Streamed: `text/event-stream` of `chat.completion.chunk` objects',
            '(the role first, content deltas, a chunk with `finish_reason`, a usage chunk when asked), then `data: [DONE]`.',
          ].join('\n'),
          requestBody: { required: true, content: json({ type: 'object', required: ['model', 'messages'], additionalProperties: true, properties: { model: { type: 'string' }, messages: { type: 'array', items: { type: 'object' } }, stream: { type: 'boolean' } } }) },
          responses: {
            200: {
              description: 'A `chat.completion` object, or with `stream: true` a stream of `chat.completion.chunk` events ending with `[DONE]`.',
              content: { ...json({ type: 'object', description: 'OpenAI `chat.completion`' }), 'text/event-stream': { schema: { type: 'string' } } },
            },
            400: openaiError('The request is not a valid chat completion request; `param` names the field.'),
            401: openaiError('Missing or unknown API key.'),
            404: openaiError('No such agent (`code: model_not_found`).'),
            429: openaiError('A budget has no room (`type` and `code` `insufficient_quota`, as OpenAI answers a spent quota), or a rate limit is used up (`rate_limit_error`, with `Retry-After`).'),
            503: openaiError('No agent runtime is running.'),
            504: openaiError('The agent did not answer in time.'),
          },
        },
      },
      '/healthz': {
        get: {
          tags: ['health'],
          operationId: 'healthz',
          summary: 'Liveness',
          security: [],
          responses: { 200: { description: 'The process answers.', content: json(ref('Health')) } },
        },
      },
      '/readyz': {
        get: {
          tags: ['health'],
          operationId: 'readyz',
          summary: 'Readiness: NATS and Redis answer',
          security: [],
          responses: {
            200: { description: 'Every dependency answered within 2 s.', content: json(ref('Readiness')) },
            503: { description: 'A dependency did not answer; `checks` says which and why.', content: json(ref('Readiness')) },
          },
        },
      },
      '/v1/agents/{agentId}/invoke': {
        post: {
          tags: ['stateless'],
          operationId: 'invokeAgent',
          summary: 'Run an agent once on the context in the body',
          description:
            'Sent over core NATS request-reply to any session-agent replica (queue group `keelson-agents`); nothing is stored. ' +
            'The agent is checked before the body, so an unknown agent is 404 even when the body is also wrong.',
          parameters: [agentIdParam],
          requestBody: requestBody('InvokeRequest'),
          responses: {
            200: { description: 'The output and token usage.', content: json(ref('RunOutcome')) },
            ...bodyErrors,
            402: err.budget,
            404: errorResponse('No such agent.', [E.agentNotFound]),
            502: errorResponse('The agent ran and failed (model error, timeout).', [E.agentFailed]),
            503: errorResponse('No agent runtime is running (no responder on NATS).', [E.unavailable]),
            504: errorResponse('No answer within INVOKE_TIMEOUT_MS (30 s by default).', [E.timeout]),
          },
        },
      },
      '/v1/sessions': {
        post: {
          tags: ['sessions'],
          operationId: 'createSession',
          summary: 'Create a session',
          description: 'The session expires after SESSION_TTL_SECONDS (1 h by default) without a turn; every turn refreshes it.',
          requestBody: requestBody('CreateSessionRequest'),
          responses: {
            201: { description: 'Created.', content: json(ref('SessionCreated')) },
            ...bodyErrors,
            404: errorResponse('No such agent.', [E.agentNotFound]),
          },
        },
      },
      '/v1/sessions/{sessionId}': {
        parameters: [sessionIdParam],
        get: {
          tags: ['sessions'],
          operationId: 'getSession',
          summary: 'A session and its history',
          responses: {
            200: { description: 'The session.', content: json(ref('SessionView')) },
            ...readErrors,
            404: errorResponse('No such session for this tenant.', [E.sessionNotFound]),
          },
        },
        delete: {
          tags: ['sessions'],
          operationId: 'deleteSession',
          summary: 'Delete a session and its history',
          responses: {
            204: { description: 'Deleted.' },
            ...readErrors,
            404: errorResponse('No such session for this tenant.', [E.sessionNotFound]),
          },
        },
      },
      '/v1/sessions/{sessionId}/messages': {
        post: {
          tags: ['sessions'],
          operationId: 'sendMessage',
          summary: 'One turn: a JSON reply, or the reply streamed as SSE',
          description: [
            'Reserves the next turn number, queues the turn on JetStream for the session\'s owner, and relays its run events.',
            'Turns of one session run one at a time, in the order their numbers were reserved; turns sent at once are not refused.',
            '',
            'With `Accept: text/event-stream` the reply is Server-Sent Events: `run.started`, `run.delta`..., then',
            '`run.completed` or `run.failed`; each `data` line is a CloudEvent (see `x-sse-events`). An error after the stream',
            'started arrives as `event: error` with `{code, message, field?}`. Each event\'s `id` is its run-log sequence: a',
            'client cut off mid-turn reconnects to `GET /v1/sessions/{id}/events` with that `Last-Event-ID` and gets the rest.',
          ].join('\n'),
          parameters: [
            sessionIdParam,
            {
              name: 'Accept',
              in: 'header',
              required: false,
              description: 'Include `text/event-stream` to stream the reply.',
              schema: { type: 'string' },
            },
          ],
          requestBody: requestBody('SendMessageRequest'),
          responses: {
            200: {
              description: 'The reply (JSON), or the turn\'s run events (SSE).',
              content: {
                'application/json': { schema: ref('TurnReply') },
                'text/event-stream': {
                  schema: { type: 'string', description: 'Server-Sent Events; see `x-sse-events` for each event\'s data.' },
                  'x-sse-events': { ...runSseEvents, error: schemas.ErrorBody.properties.error },
                },
              },
            },
            ...bodyErrors,
            402: err.budget,
            404: errorResponse('No such session for this tenant, or it expired or was deleted while the turn waited.', [E.sessionNotFound]),
            409: errorResponse(
              '`session_busy`: the session is running a turn and the policy (onBusy, or the agent\'s concurrency) is reject; `error.runId` is that run, nothing was queued. `run_cancelled` (JSON mode): a later message with the interrupt policy cancelled this turn.',
              [E.sessionBusy, E.runCancelled],
            ),
            502: errorResponse('The agent failed on this turn (JSON mode). The turn still counts and the next one runs.', [E.agentFailed]),
            503: errorResponse('The turn could not be queued (JetStream unavailable).', [E.unavailable]),
            504: errorResponse(
              'The turn did not finish within TURN_TIMEOUT_MS (60 s by default). It stays queued; its reply will appear in the session.',
              [E.timeout],
            ),
          },
        },
      },
      '/v1/sessions/{sessionId}/events': {
        get: {
          tags: ['sessions'],
          operationId: 'streamSessionEvents',
          summary: 'The session\'s run log as Server-Sent Events: replay, resume, follow',
          description: [
            'Every turn\'s run events, in order, each with `id: <run-log sequence>`: replayed from the start of the tenant\'s',
            'replay window (RUN_LOG_RETENTION, RUN_LOG_RETENTION_BY_TENANT; 24 h by default), or after `Last-Event-ID`, then',
            'followed live until the client disconnects. A client that reconnects with the id of the last event it saw gets',
            'each missed event once, then the live ones. Errors after the stream started arrive as `event: error`.',
          ].join('\n'),
          parameters: [
            sessionIdParam,
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description: 'The id (run-log sequence) of the last event the client saw; the stream resumes after it. `0` or absent: from the start of the window.',
              schema: { type: 'string', pattern: '^\\d+$' },
            },
          ],
          responses: {
            200: {
              description: 'Server-Sent Events, open until the client goes.',
              content: {
                'text/event-stream': {
                  schema: { type: 'string', description: 'Server-Sent Events; see `x-sse-events` for each event\'s data.' },
                  'x-sse-events': { ...runSseEvents, error: schemas.ErrorBody.properties.error },
                },
              },
            },
            400: errorResponse(
              '`Last-Event-ID` is not digits, is past the end of the run log, or is an event of another session; `field` is `Last-Event-ID`.',
              [E.validationFailed],
            ),
            ...readErrors,
            404: errorResponse('No such session for this tenant.', [E.sessionNotFound]),
            410: errorResponse(
              '`Last-Event-ID` is older than the tenant\'s replay window, or the run log no longer holds it. Reconnect without it to replay what is kept.',
              [E.replayWindowExceeded],
            ),
          },
        },
      },
      '/v1/sessions/{sessionId}/ws': {
        get: {
          tags: ['sessions'],
          operationId: 'sessionSocket',
          summary: 'WebSocket: send turns, receive their run events',
          description: [
            'A WebSocket upgrade (`Connection: Upgrade`, `Upgrade: websocket`), authenticated with the same Authorization header',
            'before the upgrade: a bad key or unknown session is a plain HTTP error response and no socket.',
            '',
            'Client frames: text frames holding JSON `{"content": "..."}` (SendMessageRequest), one turn each, up to BODY_LIMIT_BYTES.',
            'Server frames: `{"event": "run.started" | "run.delta" | "run.completed" | "run.failed", "seq": <run-log sequence>,',
            '"data": <CloudEvent>}` for each run event of each turn, and `{"event": "error", "data": {"code", "message", "field"?}}`',
            'when a frame cannot be handled (binary frame or bad JSON: `invalid_json`/`validation_failed`; session gone:',
            '`session_not_found`). The socket stays open after an error. Closing the socket stops the relay; a queued turn still',
            'runs and is stored.',
            '',
            'Resume: the client frame `{"resumeFrom": <seq>}` replays the session\'s events (every turn) after that sequence, `0`',
            'meaning the start of the tenant\'s replay window, then follows new ones live. While following, a turn sent on the',
            'socket is delivered by the follower, once. A bad `resumeFrom` is an error frame with `field: "resumeFrom"`',
            '(`validation_failed`), one older than the replay window `replay_window_exceeded`.',
            'A plain GET without the upgrade headers is 404 `not_found`.',
          ].join('\n'),
          parameters: [sessionIdParam],
          'x-websocket-frames': {
            client: {
              oneOf: [
                ref('SendMessageRequest'),
                {
                  type: 'object',
                  properties: { resumeFrom: { type: 'integer', minimum: 0, description: 'The seq of the last event frame received.' } },
                  required: ['resumeFrom'],
                },
              ],
            },
            server: { oneOf: [...Object.entries(runSseEvents).map(([name, schema]) => wsFrame(name, schema)), ref('WsErrorFrame')] },
          },
          responses: {
            101: { description: 'Switching Protocols: the socket is open.' },
            401: err.unauthorized,
            404: errorResponse('No such session for this tenant, or not an upgrade request.', [E.sessionNotFound, E.notFound]),
          },
        },
      },
      '/v1/tasks': {
        post: {
          tags: ['tasks'],
          operationId: 'createTask',
          summary: 'Submit an async task',
          description: [
            'Answers 202 once JetStream has acknowledged the task, and not before.',
            '',
            'Idempotency: give a key in the `Idempotency-Key` header or in `idempotencyKey` (if both, they must be equal).',
            'The task id is then derived from tenant and key (`tsk_` + the first 32 hex digits of SHA-256(`{tenant}\\n{key}`)),',
            'so the same key, over HTTP or over NATS (`Nats-Msg-Id: {tenant}:{key}`), is always the same task. A repeat',
            'answers 202 with the first task\'s id, `duplicate: true` and the header `Idempotent-Replayed: true`. Without a key',
            'every call is a new task.',
          ].join('\n'),
          parameters: [
            {
              name: 'Idempotency-Key',
              in: 'header',
              required: false,
              description: '1-200 printable ASCII characters; the same as body `idempotencyKey`.',
              schema: { type: 'string', pattern: c.IDEMPOTENCY_KEY_PATTERN.source },
            },
          ],
          requestBody: requestBody('CreateTaskRequest'),
          responses: {
            202: {
              description: 'Accepted: JetStream holds the task.',
              headers: {
                Location: { description: '`/v1/tasks/{taskId}`.', schema: { type: 'string' } },
                'Idempotent-Replayed': {
                  description: 'Present, with the value `true`, when the idempotency key was seen before.',
                  schema: { type: 'string', enum: ['true'] },
                },
              },
              content: json(ref('TaskAccepted')),
            },
            ...bodyErrors,
            402: err.budget,
            404: errorResponse('No such agent.', [E.agentNotFound]),
            409: errorResponse(
              'The idempotency key was taken, within the de-duplication window, by a NATS message that is not a task of this tenant; nothing was queued. Use another key.',
              [E.idempotencyConflict],
            ),
            503: errorResponse('JetStream did not acknowledge the task; nothing was queued. Retry with the same key.', [E.unavailable]),
          },
        },
      },
      '/v1/tasks/{taskId}': {
        get: {
          tags: ['tasks'],
          operationId: 'getTask',
          summary: 'Status, result or error of a task',
          description: 'Task records live in Redis for TASK_TTL_SECONDS (24 h by default) after their last change; then 404.',
          parameters: [taskIdParam],
          responses: {
            200: { description: 'The task.', content: json(ref('TaskView')) },
            400: errorResponse(
              '`Last-Event-ID` is not digits, is past the end of the run log, or is an event of another run; `field` is `Last-Event-ID`.',
              [E.validationFailed],
            ),
            ...readErrors,
            404: errorResponse('No such task for this tenant, or its record expired.', [E.taskNotFound]),
            410: errorResponse(
              '`Last-Event-ID` is older than the tenant\'s replay window, or the run log no longer holds it. Reconnect without it to replay what is kept.',
              [E.replayWindowExceeded],
            ),
          },
        },
      },
      '/v1/approvals/{approvalId}': {
        post: {
          tags: ['tasks'],
          operationId: 'decideApproval',
          summary: 'Approve or reject the tool call a paused task waits on',
          description: [
            'A task whose agent lists the tool in `approval.tools` pauses at its call (`run.approval_required` on its run log,',
            'with the approval id) and resumes on any task-worker once decided: approved, the tool runs; rejected, the model',
            'gets the rejection as the tool\'s error. The first decision wins. A decision after `expiresAt` is 409, and the call',
            'is rejected (as expired) and the task continues.',
          ].join('\n'),
          parameters: [pathParam('approvalId', 'From `run.approval_required`. An unknown or malformed id, or another tenant\'s, is 404 `approval_not_found`.', c.APPROVAL_ID_PATTERN)],
          requestBody: requestBody('ApprovalDecision'),
          responses: {
            202: { description: 'Decided; a task-worker resumes the run.', content: json(ref('ApprovalAccepted')) },
            ...readErrors,
            400: errorResponse('The body is not a decision.', [E.validationFailed, E.invalidJson]),
            404: errorResponse('No such approval for this tenant, or its record expired.', [E.approvalNotFound]),
            409: errorResponse('Already approved or rejected, or past its timeout (then rejected).', [E.approvalDecided]),
          },
        },
      },
      '/v1/tasks/{taskId}/events': {
        get: {
          tags: ['tasks'],
          operationId: 'streamTaskEvents',
          summary: 'The task\'s run log as Server-Sent Events',
          description: [
            'Replays the task\'s run log from the start of the tenant\'s replay window (or after `Last-Event-ID`), follows it live, and ends once the task',
            'has finished: run events carry `id: <run-log sequence>`; the last event is `task.succeeded` or `task.failed` with',
            'the TaskView and no id. A failed attempt that will be retried shows as `run.failed` followed by a new',
            '`run.started` with a higher `attempt`. Errors after the stream started arrive as `event: error`.',
            'The run log keeps events for 24 h; after that the stream holds only the final `task.*` event.',
          ].join('\n'),
          parameters: [
            taskIdParam,
            {
              name: 'Last-Event-ID',
              in: 'header',
              required: false,
              description: 'The id of the last event the client saw; the stream resumes after it.',
              schema: { type: 'string', pattern: '^\\d+$' },
            },
          ],
          responses: {
            200: {
              description: 'Server-Sent Events.',
              content: {
                'text/event-stream': {
                  schema: { type: 'string', description: 'Server-Sent Events; see `x-sse-events` for each event\'s data.' },
                  'x-sse-events': {
                    ...runSseEvents,
                    'task.succeeded': ref('TaskView'),
                    'task.failed': ref('TaskView'),
                    error: schemas.ErrorBody.properties.error,
                  },
                },
              },
            },
            ...readErrors,
            404: errorResponse('No such task for this tenant, or its record expired.', [E.taskNotFound]),
          },
        },
      },
    }, errorResponse),
    components: {
      securitySchemes: {
        bearer: {
          type: 'http',
          scheme: 'bearer',
          description:
            'An API key (`ks_...`; the gateway stores only salted SHA-256 hashes; each key belongs to one tenant) or, when OIDC_ISSUER is set, a JWT from that issuer mapped to a tenant and scopes. The scopes a route needs are listed in its security requirement; a key with `*` holds every scope.',
        },
      },
      schemas,
    },
  };
}

function wsFrame(name, schema) {
  return {
    type: 'object',
    properties: { event: { const: name }, seq: { type: 'integer', description: 'The event\'s run-log sequence, for resumeFrom.' }, data: schema },
    required: ['event', 'seq', 'data'],
  };
}

// ---------------------------------------------------------------------------------------------------------
// AsyncAPI 3.0

const MINUTE = 60_000;
function duration(ms) {
  if (ms % (24 * 60 * MINUTE) === 0) return `${ms / (24 * 60 * MINUTE)}d`;
  if (ms % (60 * MINUTE) === 0) return `${ms / (60 * MINUTE)}h`;
  if (ms % MINUTE === 0) return `${ms / MINUTE}m`;
  return `${ms}ms`;
}

/** What a channel's JetStream stream keeps, from the contracts' Streams and Consumers. */
function jetstream(stream) {
  const consumers = Object.values(c.Consumers)
    .filter((con) => con.stream === stream.name)
    .map((con) => ({
      durable: con.durable,
      filterSubject: con.filterSubject,
      ackWait: duration(con.ackWaitMs),
      maxDeliver: con.maxDeliver,
      maxAckPending: con.maxAckPending,
      retryBackoffMs: con.retryBackoffMs,
      description: con.description,
    }));
  return {
    stream: stream.name,
    subjects: stream.subjects,
    retention: stream.retention,
    maxAge: duration(stream.maxAgeMs),
    duplicateWindow: duration(stream.duplicateWindowMs),
    description: stream.description,
    ...(consumers.length ? { consumers } : {}),
  };
}

const param = (description, extra = {}) => ({ description, ...extra });
const params = {
  tenant: param('Tenant id: lowercase letters, digits, `_` and `-`, 1-63 characters, starting with a letter or digit.'),
  agentId: param('Agent id, same pattern as a tenant id (e.g. `assistant`).'),
  taskId: param('Task id: letters, digits, `_` and `-`, 1-128 characters.'),
  sessionId: param('Session id as returned by `POST /v1/sessions`.'),
  turn: param('Turn number within the session, from 1.'),
  stream: param('Lowercased name of the stream the message was taken from.', { enum: [c.Streams.tasks.name.toLowerCase(), c.Streams.sessionTurns.name.toLowerCase()] }),
};

const header = (description, extra = {}) => ({ type: 'string', description, ...extra });
const traceHeaders = {
  [H.traceparent]: header('W3C trace context of the producer span.'),
  [H.tracestate]: header('W3C trace state, when there is one.'),
};

function message(name, title, payload, { headers, summary, description, contentType } = {}) {
  return {
    name,
    title,
    ...(summary ? { summary } : {}),
    ...(description ? { description } : {}),
    contentType: contentType ?? 'application/json',
    ...(headers ? { headers: { type: 'object', properties: headers } } : {}),
    payload,
  };
}

const runEventMessage = (name, schemaId) =>
  message(name, `${schemaId.replace(/Event$/, '')} event`, ref(schemaId), {
    contentType: 'application/cloudevents+json',
    headers: {
      [H.msgId]: header('`{tenant}:{runId}:{attempt}:{kind}`, also the CloudEvent id; a re-published event is dropped as a duplicate.'),
      ...traceHeaders,
    },
  });

function asyncapi(schemas) {
  const sub = (fn, ...names) => fn(...names.map((n) => `{${n}}`));
  const taskIdDerivation = [
    'The task id of a message is, in order of precedence:',
    '1. the body\'s `taskId`, when given (the gateway always sets it);',
    `2. derived from \`${H.msgId}\`: \`{tenant}:{key}\` or a bare key (one without \`:\`) both give`,
    '   `tsk_` + the first 32 hex digits of SHA-256(`{tenant}\\n{key}`), exactly as the gateway derives it from an',
    '   HTTP idempotency key. A prefix naming another tenant is refused: the message is dead-lettered;',
    '3. otherwise `tsk_seq{stream sequence}`.',
  ].join('\n');

  return {
    asyncapi: '3.0.0',
    info: {
      title: 'Keelson NATS contract',
      version,
      description: [
        'What Keelson publishes and consumes on NATS. Publishers and subscribers inside the company use the task and',
        'result channels; the others are internal and documented so operators can read them.',
        '',
        'Commands (tasks, session turns) are plain JSON with the tenant in the subject. Events (run log, results) are',
        'CloudEvents 1.0 JSON envelopes carrying `tenantid` and the W3C trace context. Every JetStream publish carries',
        `\`${H.msgId}\` and W3C \`traceparent\`/\`tracestate\` headers.`,
        '',
        'JetStream streams (`x-jetstream` on each channel gives retention, max age, duplicate window and consumers):',
        ...Object.values(c.Streams).map(
          (s) => `- ${s.name}: ${s.subjects.join(', ')}, ${s.retention}, max age ${duration(s.maxAgeMs)}, duplicate window ${duration(s.duplicateWindowMs)}.`,
        ),
        '',
        'Generated by tools/api-docs/generate.mjs from libs/contracts; do not edit by hand.',
      ].join('\n'),
      license: { name: 'Apache-2.0', url: 'https://www.apache.org/licenses/LICENSE-2.0' },
    },
    defaultContentType: 'application/json',
    servers: {
      local: { host: '127.0.0.1:4222', protocol: 'nats', description: 'The NATS (with JetStream) of the local stack.' },
    },
    channels: {
      tasks: {
        address: sub(c.Subjects.task, 'tenant', 'agentId'),
        title: 'Async tasks',
        description: [
          'Publish a task here and await the JetStream PubAck: once acknowledged, the task will get exactly one result on',
          '`keelson.results.{tenant}.{agentId}.{taskId}`. Set `Nats-Msg-Id` to `{tenant}:{idempotencyKey}`; the same key',
          'over HTTP (`Idempotency-Key`) or NATS is the same task. JetStream drops a repeat within the duplicate window',
          `(${duration(c.Streams.tasks.duplicateWindowMs)}); after it, the task record in Redis (kept 24 h after the task's last change)`,
          'stops a finished task from running again.',
          '',
          taskIdDerivation,
          '',
          'Use the `{tenant}:` prefix. JetStream de-duplicates across the whole stream, so a bare key is compared with every',
          'tenant\'s keys: two tenants using the same bare key within the window lose the second task (its PubAck says',
          '`duplicate: true`).',
          '',
          'A message whose body is not JSON or fails validation is dead-lettered on `keelson.dlq.keelson_tasks` with the',
          'reason and never retried. A task whose agent fails is retried with backoff; after the last delivery its failed',
          'result is published and the message is dead-lettered.',
        ].join('\n'),
        parameters: { tenant: params.tenant, agentId: params.agentId },
        messages: {
          taskCommand: message('TaskCommand', 'Task', ref('TaskMessage'), {
            headers: {
              [H.msgId]: header('Idempotency key: `{tenant}:{key}` (recommended) or a bare key without `:`. Optional.', {
                pattern: c.IDEMPOTENCY_KEY_PATTERN.source,
              }),
              ...traceHeaders,
            },
          }),
        },
        'x-jetstream': jetstream(c.Streams.tasks),
      },
      results: {
        address: sub(c.Subjects.result, 'tenant', 'agentId', 'taskId'),
        title: 'Task results',
        description: [
          'Exactly one result per task that ends, success or failure, kept for replay. Subscribe with your own durable',
          `consumer on ${c.Streams.results.name}, filtered to \`${c.Subjects.tenantResults('{tenant}')}\` (or narrower), from`,
          'any start point. The result\'s Nats-Msg-Id and CloudEvent id are both `result:{tenant}:{taskId}`, so a task that',
          'ran twice after a crash still has one stored result.',
        ].join('\n'),
        parameters: { tenant: params.tenant, agentId: params.agentId, taskId: params.taskId },
        messages: {
          taskCompleted: message('TaskCompleted', 'Task succeeded', ref('TaskCompletedEvent'), {
            contentType: 'application/cloudevents+json',
            headers: { [H.msgId]: header('`result:{tenant}:{taskId}`.'), ...traceHeaders },
          }),
          taskFailed: message('TaskFailed', 'Task failed', ref('TaskFailedEvent'), {
            contentType: 'application/cloudevents+json',
            headers: { [H.msgId]: header('`result:{tenant}:{taskId}`.'), ...traceHeaders },
          }),
        },
        'x-jetstream': jetstream(c.Streams.results),
      },
      approvals: {
        address: sub(c.Subjects.approval, 'tenant', 'approvalId'),
        title: 'Tool approvals',
        description: [
          'A decision on a paused task\'s tool call, as `POST /v1/approvals/{approvalId}` takes it (the gateway publishes',
          'one here for each HTTP decision). Any task-worker takes it, records it (the first decision wins; past the',
          'approval\'s timeout it is a rejection) and continues the run from its saved state.',
        ].join('\n'),
        parameters: { tenant: params.tenant, approvalId: param('Approval id from `run.approval_required`.') },
        messages: { approvalCommand: message('ApprovalCommand', 'Approval decision', ref('ApprovalDecision')) },
        'x-jetstream': jetstream(c.Streams.approvals),
      },
      taskRuns: {
        address: sub(c.Subjects.taskRun, 'tenant', 'taskId'),
        title: 'Run log of a task',
        description: [
          'The events of each attempt of a task, in order: run.started, run.delta..., run.completed or run.failed. `attempt`',
          'is the JetStream delivery that ran it; a retry starts again with a higher attempt, so a reader can drop a',
          'half-streamed attempt. `GET /v1/tasks/{taskId}/events` serves this log as SSE.',
        ].join('\n'),
        parameters: { tenant: params.tenant, taskId: params.taskId },
        messages: {
          runStarted: runEventMessage('RunStarted', 'RunStartedEvent'),
          runDelta: runEventMessage('RunDelta', 'RunDeltaEvent'),
          runCompleted: runEventMessage('RunCompleted', 'RunCompletedEvent'),
          runFailed: runEventMessage('RunFailed', 'RunFailedEvent'),
          runToolCall: runEventMessage('RunToolCall', 'RunToolCallEvent'),
          runToolResult: runEventMessage('RunToolResult', 'RunToolResultEvent'),
          runApprovalRequired: runEventMessage('RunApprovalRequired', 'RunApprovalRequiredEvent'),
        },
        'x-jetstream': jetstream(c.Streams.runs),
      },
      sessionRuns: {
        address: sub(c.Subjects.sessionRun, 'tenant', 'sessionId', 'turn'),
        title: 'Run log of a session turn',
        description:
          'The events of one session turn, as for tasks; `runId` is `{sessionId}:{turn}`. The gateway subscribes to this subject before it queues the turn, and relays the events as JSON, SSE or WebSocket frames.',
        parameters: { tenant: params.tenant, sessionId: params.sessionId, turn: params.turn },
        messages: {
          runStarted: runEventMessage('RunStarted', 'RunStartedEvent'),
          runDelta: runEventMessage('RunDelta', 'RunDeltaEvent'),
          runCompleted: runEventMessage('RunCompleted', 'RunCompletedEvent'),
          runFailed: runEventMessage('RunFailed', 'RunFailedEvent'),
          runToolCall: runEventMessage('RunToolCall', 'RunToolCallEvent'),
          runToolResult: runEventMessage('RunToolResult', 'RunToolResultEvent'),
        },
        'x-jetstream': jetstream(c.Streams.runs),
      },
      sessionTurns: {
        address: sub(c.Subjects.sessionTurn, 'tenant', 'sessionId'),
        title: 'Session turns (internal)',
        description: [
          'Internal: the gateway queues each turn here after reserving its number in Redis; session-agent replicas share',
          'one durable consumer and keep each session\'s turns in order with a lease in Redis. Do not publish here: a turn',
          'whose number was not reserved waits and is then dead-lettered.',
        ].join('\n'),
        parameters: { tenant: params.tenant, sessionId: params.sessionId },
        messages: {
          sessionTurn: message('SessionTurn', 'Session turn', ref('SessionTurn'), {
            headers: { [H.msgId]: header('`{tenant}:{sessionId}:{turn}`.'), ...traceHeaders },
          }),
        },
        'x-jetstream': jetstream(c.Streams.sessionTurns),
      },
      deadLetters: {
        address: sub(c.Subjects.deadLetter, 'stream'),
        title: 'Dead letters',
        description: [
          'Messages given up on: the original bytes and headers, plus headers saying where they came from and why. A',
          'dead letter\'s own Nats-Msg-Id is `{STREAM}:{seq}`, so one message is stored once even if dead-lettered twice.',
          'See docs/operations.md for inspecting and replaying them.',
        ].join('\n'),
        parameters: { stream: params.stream },
        messages: {
          deadLetter: message('DeadLetter', 'Dead letter', { description: 'The original message body, unchanged (it may not be JSON).' }, {
            contentType: 'application/octet-stream',
            headers: {
              [H.deadLetterReason]: header('Why it was given up on, e.g. `invalid task: input: ...` or `max_deliver reached: ...`.'),
              [H.deadLetterStream]: header('The stream it came from, e.g. `KEELSON_TASKS`.'),
              [H.deadLetterSubject]: header('Its original subject: republish there to replay it.'),
              [H.deadLetterSeq]: header('Its sequence in the original stream.'),
              [H.deliveries]: header('How many times it was delivered.'),
              [H.deadLetterMsgId]: header('Its original Nats-Msg-Id, when it had one.'),
              [H.msgId]: header('`{STREAM}:{seq}` of the original.'),
              ...traceHeaders,
            },
          }),
        },
        'x-jetstream': jetstream(c.Streams.deadLetters),
      },
      invokeRuns: {
        address: sub(c.Subjects.invokeRun, 'tenant', 'runId'),
        title: 'Run log of a streamed stateless invoke',
        description:
          'When the gateway streams a stateless run (`POST /v1/chat/completions` with `stream: true`), the session-agent publishes the run\'s events here while it answers the request; the gateway subscribes before it sends the request.',
        parameters: { tenant: params.tenant, runId: param('The run id the gateway chose for this request.') },
        messages: {
          runStarted: runEventMessage('RunStarted', 'RunStartedEvent'),
          runDelta: runEventMessage('RunDelta', 'RunDeltaEvent'),
          runCompleted: runEventMessage('RunCompleted', 'RunCompletedEvent'),
          runFailed: runEventMessage('RunFailed', 'RunFailedEvent'),
        },
        'x-jetstream': jetstream(c.Streams.runs),
      },
      usage: {
        address: sub(c.UsageSubjects.record, 'tenant', 'agentId'),
        title: 'Usage records',
        description: [
          'One record per model call, whatever its ending (completed, cancelled, failed, truncated by a budget): tokens',
          '(the provider\'s figures, or a tokenizer\'s estimate marked `estimated`), cost in integer micro-USD from the',
          'versioned price table, and the tenant, agent, API key, session or task and trace it is charged to. The record id',
          'is its Nats-Msg-Id, so a re-published record is stored once. Audit and metrics consume it; `GET /v1/usage` reads it.',
        ].join('\n'),
        parameters: { tenant: params.tenant, agentId: params.agentId },
        messages: {
          usageRecord: message('UsageRecord', 'Usage record', ref('UsageRecord'), { headers: { [H.msgId]: header('The record id, `usg_` + 32 hex.'), ...traceHeaders } }),
        },
        'x-jetstream': jetstream(c.Streams.usage),
      },
      invokeRpc: {
        address: c.Subjects.invokeRpc,
        title: 'Stateless invoke (internal, core NATS request-reply)',
        description: `Internal: the gateway's stateless invoke. Core NATS, not JetStream: nothing is stored. Session-agent replicas answer as queue group \`${c.QueueGroups.agents}\`.`,
        messages: { invokeRequest: message('InvokeRequest', 'Invoke request', ref('InvokeRpcRequest'), { headers: traceHeaders }) },
      },
      invokeRpcReply: {
        address: null,
        title: 'Stateless invoke reply',
        description: 'The request\'s reply inbox. An error reply carries the HTTP status and error code the gateway passes on.',
        messages: { invokeReply: message('InvokeReply', 'Invoke reply', ref('InvokeRpcReply')) },
      },
      ...auditChannels({ c, ref, param, params, message, header, traceHeaders, jetstream }),
      ...guardChannels({ c, ref, message, traceHeaders }),
      ...memoryChannels({ c, ref, message, traceHeaders }),
      ...opsChannels({ c, ref, message }),
    },
    operations: {
      receiveTask: {
        action: 'receive',
        channel: { $ref: '#/channels/tasks' },
        title: 'Task-workers run tasks',
        summary: 'Publish here (with a PubAck) to submit a task.',
        messages: [{ $ref: '#/channels/tasks/messages/taskCommand' }],
      },
      receiveApproval: {
        action: 'receive',
        channel: { $ref: '#/channels/approvals' },
        title: 'Task-workers resume paused tasks',
        summary: 'Publish a decision here to approve or reject a paused tool call.',
        messages: [{ $ref: '#/channels/approvals/messages/approvalCommand' }],
      },
      sendResult: {
        action: 'send',
        channel: { $ref: '#/channels/results' },
        title: 'Task-workers publish one result per task',
        messages: [{ $ref: '#/channels/results/messages/taskCompleted' }, { $ref: '#/channels/results/messages/taskFailed' }],
      },
      sendTaskRunEvent: {
        action: 'send',
        channel: { $ref: '#/channels/taskRuns' },
        title: 'Task-workers write the run log of each attempt',
        messages: ['runStarted', 'runDelta', 'runCompleted', 'runFailed'].map((m) => ({ $ref: `#/channels/taskRuns/messages/${m}` })),
      },
      sendSessionRunEvent: {
        action: 'send',
        channel: { $ref: '#/channels/sessionRuns' },
        title: 'Session-agents write the run log of each turn',
        messages: ['runStarted', 'runDelta', 'runCompleted', 'runFailed'].map((m) => ({ $ref: `#/channels/sessionRuns/messages/${m}` })),
      },
      receiveSessionTurn: {
        action: 'receive',
        channel: { $ref: '#/channels/sessionTurns' },
        title: 'Session-agents run turns in order (internal)',
        messages: [{ $ref: '#/channels/sessionTurns/messages/sessionTurn' }],
      },
      sendDeadLetter: {
        action: 'send',
        channel: { $ref: '#/channels/deadLetters' },
        title: 'Consumers dead-letter what they give up on',
        messages: [{ $ref: '#/channels/deadLetters/messages/deadLetter' }],
      },
      sendUsage: {
        action: 'send',
        channel: { $ref: '#/channels/usage' },
        title: 'Agent runtimes publish one usage record per model call',
        messages: [{ $ref: '#/channels/usage/messages/usageRecord' }],
      },
      answerInvoke: {
        action: 'receive',
        channel: { $ref: '#/channels/invokeRpc' },
        title: 'Session-agents answer stateless invokes (internal)',
        messages: [{ $ref: '#/channels/invokeRpc/messages/invokeRequest' }],
        bindings: { nats: { queue: c.QueueGroups.agents, bindingVersion: '0.1.0' } },
        reply: {
          channel: { $ref: '#/channels/invokeRpcReply' },
          messages: [{ $ref: '#/channels/invokeRpcReply/messages/invokeReply' }],
        },
      },
      ...auditOperations({ c }),
      ...guardOperations({ c }),
      ...memoryOperations({ c }),
    },
    components: { schemas },
  };
}

// ---------------------------------------------------------------------------------------------------------

const files = {
  'openapi.json': openapi(buildSchemas('draft-2020-12', 'http')),
  // AsyncAPI's default schema format is a superset of JSON Schema draft-07.
  'asyncapi.json': asyncapi(buildSchemas('draft-7', 'nats')),
};

let stale = 0;
for (const [name, doc] of Object.entries(files)) {
  const path = join(outDir, name);
  const text = `${JSON.stringify(doc, null, 2)}\n`;
  const shown = relative(process.cwd(), path) || path;
  if (check) {
    const current = existsSync(path) ? readFileSync(path, 'utf8') : undefined;
    if (current !== text) {
      stale++;
      console.error(`api-docs: ${shown} is ${current === undefined ? 'missing' : 'stale'}: the contracts generate something else. Run: npm run docs:api`);
    }
    continue;
  }
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path, text);
  console.log(`api-docs: wrote ${shown}`);
}
if (check) {
  if (stale) process.exit(1);
  console.log(`api-docs: ${Object.keys(files).join(' and ')} match the contracts`);
}
