// The guard as a product (apps/gateway/src/guard, apps/guard-service): the HTTP routes of the gateway, and the
// NATS side (guard-service's input, output, policy and reveal RPCs). Kept apart from generate.mjs, which passes
// in its helpers, so each group stays a readable size.
import { rpcAnswer, rpcChannelPair } from './rpc-channels.mjs';

/** Seconds the gateway waits for guard-service (GUARD_RPC_TIMEOUT_MS in apps/gateway/src/guard/guard-client.ts). */
const GUARD_TIMEOUT_S = 5;

/** Schemas for `components` in generate.mjs: [id, schema, description, 'http' | 'nats' | 'both']. */
export function guardComponents(c) {
  return [
    [
      'GuardInputRequest',
      c.GuardInputRequestSchema,
      'A text to check for prompt injection. `source` (default `user`) says where it comes from: content from tools, memory and retrieved documents is checked like the user\'s; a source the policy does not list is always allowed. `agentId` applies that agent\'s policy override.',
      'http',
    ],
    [
      'GuardInputResponse',
      c.GuardInputResponseSchema,
      'The decision: `score` in [0, 1], `action` (`block` only at or above the policy\'s blockThreshold, unless the category\'s action says otherwise), the findings by category and rule, and who decided (`stage1`, `stage2`, or `stage2:timeout` / `stage2:error` when the model failed and stage 1 decided).',
      'http',
    ],
    ['GuardOutputRequest', c.GuardOutputRequestSchema, 'A text to filter for PII and secrets; `agentId` applies that agent\'s policy override.', 'http'],
    [
      'GuardOutputResponse',
      c.GuardOutputResponseSchema,
      'The redacted text and what was found. `start`/`end` are Unicode code points (end exclusive) into the text as sent, not UTF-16 units. When a finding\'s action is `block`, `blocked` is true and `text` is empty.',
      'http',
    ],
    ['GuardRevealRequest', c.GuardRevealRequestSchema, 'A text holding pseudonym tokens such as `[EMAIL_ADDRESS:1a2b3c4d5e]`.', 'http'],
    [
      'GuardRevealResponse',
      c.GuardRevealResponseSchema,
      'The text with the tenant\'s own tokens turned back into their values; tokens the tenant\'s vault does not hold (expired, another tenant\'s, made up) are left as they are and counted in `unknown`.',
      'http',
    ],
    [
      'GuardPolicyInput',
      c.GuardPolicyInputSchema,
      'A tenant\'s guard policy as the caller writes it: the input check, the output filter, and per-agent overrides. Every field has a default; unknown fields are refused.',
      'http',
    ],
    [
      'GuardPolicy',
      c.GuardPolicySchema,
      'A stored policy: what was written, with every default filled in, its version (1, 2, ... per tenant; 0 for the defaults while nothing is stored) and when it was stored.',
      'both',
    ],
    ['GuardInputRpcRequest', c.GuardInputRpcRequestSchema, 'The body of `POST /v1/guard/input` and the caller\'s tenant, set by the gateway.', 'nats'],
    ['GuardInputRpcReply', c.GuardInputRpcReplySchema, 'The decision, or the HTTP status, error code, message and field the gateway passes on.', 'nats'],
    ['GuardOutputRpcRequest', c.GuardOutputRpcRequestSchema, 'The body of `POST /v1/guard/output` and the caller\'s tenant, set by the gateway.', 'nats'],
    ['GuardOutputRpcReply', c.GuardOutputRpcReplySchema, 'The redacted text and findings, or the HTTP status, error code, message and field the gateway passes on.', 'nats'],
    [
      'GuardPolicyRpcRequest',
      c.GuardPolicyRpcRequestSchema,
      '`{tenant}` reads the policy; `{tenant, policy, expectedVersion?}` validates `policy` (a GuardPolicyInput) and stores it as the next version, refused with 409 `policy_version_conflict` unless the stored version is `expectedVersion`.',
      'nats',
    ],
    ['GuardPolicyRpcReply', c.GuardPolicyRpcReplySchema, 'The policy (as stored, or the defaults at version 0), or the HTTP status, error code, message and field the gateway passes on.', 'nats'],
    ['GuardRevealRpcRequest', c.GuardRevealRpcRequestSchema, 'The body of `POST /v1/guard/reveal` and the caller\'s tenant, set by the gateway.', 'nats'],
    [
      'GuardRevealRpcReply',
      c.GuardRevealRpcReplySchema,
      'The revealed text and counts, or the HTTP status, error code, message and field the gateway passes on (409 `pseudonyms_off` when guard-service has no GUARD_PSEUDONYM_KEY_FILE).',
      'nats',
    ],
  ];
}

/** `h`: { c, json, ref, errorResponse, readErrors, bodyErrors } from generate.mjs. */
export function guardPaths(h) {
  const { c, json, ref, errorResponse, readErrors, bodyErrors } = h;
  const E = c.ErrorCodes;
  const G = c.GuardErrorCodes;
  const tags = ['guard'];
  const requestBody = (id) => ({ required: true, content: json(ref(id)) });
  const unavailable = errorResponse('guard-service is not running; try again shortly.', [E.unavailable]);
  const timeout = errorResponse(`guard-service did not answer within ${GUARD_TIMEOUT_S} s.`, [E.timeout]);
  const badText = errorResponse(
    'The body is not JSON, or a field is missing, of the wrong type, too long (the text is at most 1,000,000 characters, never cut) or unknown; `field` names it (`text`, `source`, `agentId`).',
    [E.invalidJson, E.validationFailed],
  );
  const etag = { description: 'The policy\'s version, quoted: `"3"`. Send it back as `If-Match` on `PUT`.', schema: { type: 'string' } };
  return {
    '/v1/guard/input': {
      post: {
        tags,
        operationId: 'guardCheckInput',
        summary: 'Check a text for prompt injection under the tenant\'s policy',
        description: [
          'Answered by guard-service (`keelson.rpc.guard.input`) under the caller\'s policy, with the agent\'s override when',
          '`agentId` is given. Stage 1 (rules over the normalised and decoded text) always runs; an uncertain score goes to',
          'stage 2 (a model classifier) when the policy turns it on, and stage 1 decides when the model fails or is late.',
          'A refused text is still a 200: read `allowed` and `action`. Every call is a guard decision on',
          '`keelson.guard.decisions.{tenant}`; one that found something is also a `guard.decision` audit event (never the text).',
        ].join('\n'),
        requestBody: requestBody('GuardInputRequest'),
        responses: {
          200: { description: 'The decision.', content: json(ref('GuardInputResponse')) },
          ...bodyErrors,
          400: badText,
          503: unavailable,
          504: timeout,
        },
      },
    },
    '/v1/guard/output': {
      post: {
        tags,
        operationId: 'guardFilterOutput',
        summary: 'Redact PII and secrets from a text under the tenant\'s policy',
        description: [
          'Answered by guard-service (`keelson.rpc.guard.output`). Each entity type found is redacted in the policy\'s mode',
          '(`placeholder` such as `[EMAIL]`, `mask`, or `pseudonym` such as `[EMAIL_ADDRESS:3f9a0c1b7e]`, the same token',
          'for the same value within the tenant), flagged, left, or blocks the whole text, as the policy\'s action for the',
          'type says. Without GUARD_PSEUDONYM_KEY_FILE, pseudonym mode falls back to placeholders. Offsets are code points',
          'into the text as sent.',
        ].join('\n'),
        requestBody: requestBody('GuardOutputRequest'),
        responses: {
          200: { description: 'The redacted text and its findings (200 also when `blocked`).', content: json(ref('GuardOutputResponse')) },
          ...bodyErrors,
          400: badText,
          503: unavailable,
          504: timeout,
        },
      },
    },
    '/v1/guard/reveal': {
      post: {
        tags,
        operationId: 'guardRevealPseudonyms',
        summary: 'Turn the tenant\'s pseudonym tokens in a text back into their values (scope `guard:reveal`, audited)',
        description: [
          'Needs an API key with the scope `guard:reveal` (or `*`); any other key is 403 `forbidden` with `field` =',
          '`guard:reveal`, checked before the body\'s fields. Only the caller\'s tenant\'s vault is read: another tenant\'s token, an',
          'expired one or a made-up one stays as it is and counts as `unknown`.',
          '',
          'Every call is an `admin.pseudonym_revealed` audit event (the API key and the counts, never the values), recorded',
          'before anything is returned: if it cannot be recorded, nothing is revealed (503 `unavailable`).',
          'Answered by guard-service (`keelson.rpc.guard.reveal`).',
        ].join('\n'),
        requestBody: requestBody('GuardRevealRequest'),
        responses: {
          200: { description: 'The revealed text, with how many tokens were revealed and how many were unknown.', content: json(ref('GuardRevealResponse')) },
          ...bodyErrors,
          400: errorResponse(
            'The body is not JSON, or `text` is missing, empty, longer than 1,000,000 characters or not a string, or a field is unknown; `field` names it.',
            [E.invalidJson, E.validationFailed],
          ),
          403: errorResponse('The API key lacks the scope `guard:reveal`; `field` is `guard:reveal`. Nothing was revealed or recorded.', [E.forbidden]),
          409: errorResponse(
            'This deployment keeps no pseudonyms: guard-service runs without GUARD_PSEUDONYM_KEY_FILE, so there is nothing to reveal.',
            [G.pseudonymsOff],
          ),
          503: errorResponse(
            'guard-service is not running, or the `admin.pseudonym_revealed` audit event could not be recorded (then nothing is revealed); try again shortly.',
            [E.unavailable],
          ),
          504: timeout,
        },
      },
    },
    '/v1/guard/policy': {
      get: {
        tags,
        operationId: 'getGuardPolicy',
        summary: 'The tenant\'s guard policy',
        description:
          'The stored policy, or the defaults at version 0 while none is stored (every check on, every entity type redacted with placeholders). Answered by guard-service (`keelson.rpc.guard.policy`).',
        responses: {
          200: { description: 'The policy.', headers: { ETag: etag }, content: json(ref('GuardPolicy')) },
          ...readErrors,
          503: unavailable,
          504: timeout,
        },
      },
      put: {
        tags,
        operationId: 'setGuardPolicy',
        summary: 'Replace the tenant\'s guard policy (stored as the next version)',
        description: [
          'The body is the whole policy: a field left out takes its default, not its stored value. It is validated (400',
          'names the field, e.g. `policy.output.mode`) and stored as version + 1. Send the version you read as',
          '`If-Match: "<version>"` to guard against lost updates: if another write came first, the answer is 409',
          '`policy_version_conflict` and nothing is stored. Without `If-Match`, the write always wins.',
          '',
          'Every change is an `admin.guard_policy_set` audit event; if it cannot be recorded the answer is 503 (the new',
          'version is already stored). In-process guards (session-agent, task-worker, audit-service) cache policies for',
          'GUARD_POLICY_TTL_MS (60 s by default), so a change reaches every replica within that time.',
        ].join('\n'),
        parameters: [
          {
            name: 'If-Match',
            in: 'header',
            required: false,
            description: 'The version the change is based on, as the `ETag` of `GET` gave it: `"3"` (a bare `3` or a weak `W/"3"` are taken too).',
            schema: { type: 'string' },
          },
        ],
        requestBody: requestBody('GuardPolicyInput'),
        responses: {
          200: { description: 'The policy as stored, with its new version.', headers: { ETag: etag }, content: json(ref('GuardPolicy')) },
          ...bodyErrors,
          400: errorResponse(
            'The body is not JSON or not an object (`field` `(body)`), a policy field is wrong or unknown (`field` names it, e.g. `policy.output.mode`), or `If-Match` is not a version (`field` `If-Match`).',
            [E.invalidJson, E.validationFailed],
          ),
          409: errorResponse('`If-Match` names a version that is not the stored one: someone changed the policy since it was read. Read it again and retry.', [
            G.policyVersionConflict,
          ]),
          503: errorResponse('guard-service is not running, or the `admin.guard_policy_set` audit event could not be recorded; try again shortly.', [E.unavailable]),
          504: timeout,
        },
      },
    },
  };
}

/** `h`: { c, ref, message, traceHeaders } from generate.mjs. */
export function guardChannels(h) {
  const { c, ref, message, traceHeaders } = h;
  const S = c.GuardSubjects;
  const rpc = (what) =>
    `Internal: ${what}. Core NATS request-reply, not JetStream: nothing is stored. guard-service replicas answer as queue group \`${c.GuardQueueGroup}\`. \`tenant\` is set by the caller, never by an HTTP client. An error reply carries the HTTP status, code, message and field the gateway passes on; nobody answering is 503 \`unavailable\`, no answer within ${GUARD_TIMEOUT_S} s 504 \`timeout\` at the gateway.`;
  const channels = {};
  const pair = (key, address, title, description, name, replyShape) =>
    Object.assign(
      channels,
      rpcChannelPair(
        { ref, message, traceHeaders },
        { key, address, title, description, names: { request: `${name}Request`, reply: `${name}Reply` }, refs: { request: `${name}RpcRequest`, reply: `${name}RpcReply` }, replyShape },
      ),
    );
  pair('guardInput', S.inputRpc, 'Guard input check', rpc('the prompt-injection check of `POST /v1/guard/input`, asked by the gateway'), 'GuardInput', '`{ok: true, allowed, score, action, findings, decidedBy, policyVersion}`');
  pair('guardOutput', S.outputRpc, 'Guard output filter', rpc('the PII and secrets filter of `POST /v1/guard/output`, asked by the gateway'), 'GuardOutput', '`{ok: true, text, findings, blocked, policyVersion}`');
  pair(
    'guardPolicy',
    S.policyRpc,
    'Guard policy',
    rpc(
      'reads and writes of the tenant\'s policy: the gateway for `GET` and `PUT /v1/guard/policy`, and the policy caches of session-agent, task-worker and audit-service (reads only; when guard-service does not answer they keep the last policy they knew, or the defaults)',
    ),
    'GuardPolicy',
    '`{ok: true, policy}`',
  );
  pair(
    'guardReveal',
    S.revealRpc,
    'Guard pseudonym reveal',
    rpc('turns the tenant\'s pseudonym tokens back into their values for `POST /v1/guard/reveal`. Only the gateway, which checks the key scope `guard:reveal` and audits every call, should be allowed to call it'),
    'GuardReveal',
    '`{ok: true, text, revealed, unknown}`',
  );
  return channels;
}

/** `h`: { c } from generate.mjs. */
export function guardOperations(h) {
  const { c } = h;
  const answer = rpcAnswer(c.GuardQueueGroup);
  return {
    answerGuardInput: answer('guardInput', 'guard-service checks inputs for prompt injection (internal)'),
    answerGuardOutput: answer('guardOutput', 'guard-service filters outputs for PII and secrets (internal)'),
    answerGuardPolicy: answer('guardPolicy', 'guard-service reads and stores tenants\' guard policies (internal)'),
    answerGuardReveal: answer('guardReveal', 'guard-service reveals a tenant\'s pseudonyms (internal)'),
  };
}
