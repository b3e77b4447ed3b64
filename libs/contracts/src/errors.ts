import { z } from 'zod';
import { BudgetStateSchema, type BudgetState } from './budget-state';

/** Machine-readable error codes: stable, documented, safe to switch on. */
export const ErrorCodes = {
  invalidJson: 'invalid_json',
  validationFailed: 'validation_failed',
  payloadTooLarge: 'payload_too_large',
  /** 400: a JSON body nested deeper than the limit (HTTP_MAX_JSON_DEPTH); the message names the limit. */
  jsonTooDeep: 'json_too_deep',
  /** 400: a path that is not valid percent-encoding (`%E0%A4%A`). */
  invalidUrl: 'invalid_url',
  /** 400: a request that is not valid HTTP/1.1, refused before it reached a route. */
  badRequest: 'bad_request',
  /** 408: the whole request (headers and body) did not arrive within HTTP_REQUEST_TIMEOUT_MS. */
  requestTimeout: 'request_timeout',
  /** 414: a path and query string longer than HTTP_MAX_URL_LENGTH. */
  uriTooLong: 'uri_too_long',
  /** 431: request line and headers larger than HTTP_MAX_HEADER_BYTES. */
  headersTooLarge: 'headers_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  unauthorized: 'unauthorized',
  /** 403: the key is valid but lacks the scope the route needs; `field` names the scope. */
  forbidden: 'forbidden',
  notFound: 'not_found',
  agentNotFound: 'agent_not_found',
  sessionNotFound: 'session_not_found',
  taskNotFound: 'task_not_found',
  approvalNotFound: 'approval_not_found',
  /** 409: an API key that cannot be changed this way: revoked already, or managed in the mounted keys file. */
  keyNotChangeable: 'key_not_changeable',
  /** An approval already approved or rejected, or past its timeout (then it counts as rejected). */
  approvalDecided: 'approval_decided',
  methodNotAllowed: 'method_not_allowed',
  /** An idempotency key already taken, within the de-duplication window, by a message that is not this tenant's. */
  idempotencyConflict: 'idempotency_conflict',
  /** A resume point (Last-Event-ID, resumeFrom) older than the tenant's replay window or gone from the run log. */
  replayWindowExceeded: 'replay_window_exceeded',
  /** A message refused because its session is running a turn and the policy is `reject`; `runId` names that run. */
  sessionBusy: 'session_busy',
  /** A session turn cancelled by a later message with the `interrupt` policy. */
  runCancelled: 'run_cancelled',
  timeout: 'timeout',
  unavailable: 'unavailable',
  /** 503 with Retry-After: the gateway is at capacity for this class of request (admission control); nothing ran. */
  overloaded: 'overloaded',
  agentFailed: 'agent_failed',
  /** A task whose every allowed attempt ended without finishing (the last one died with its process). */
  attemptsExhausted: 'attempts_exhausted',
  /** 402: a budget (tenant, agent or API key; day, month or total) has no room for the call; `budget` says which. */
  budgetExceeded: 'budget_exceeded',
  /** 429 with Retry-After: a requests- or tokens-per-minute limit of the tenant or the key. */
  rateLimited: 'rate_limited',
  /** 422: the tenant's guard policy blocked the message as a prompt injection; nothing ran. */
  inputBlocked: 'input_blocked',
  /** 409: a rollout that cannot be changed this way: promoted or rolled back already (start a new one with PUT). */
  rolloutNotChangeable: 'rollout_not_changeable',
  /** 503: the agent is switched off on the platform (a kill switch, docs/rollouts.md); nothing ran. */
  agentDisabled: 'agent_disabled',
  /** 503: the tenant is suspended on the platform (a kill switch, docs/rollouts.md); nothing ran. */
  tenantSuspended: 'tenant_suspended',
  internal: 'internal_error',
} as const;
export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

export const ErrorBodySchema = z.object({
  error: z.object({
    code: z.string(),
    message: z.string(),
    field: z.string().optional(),
    /** With session_busy: the run the session is busy with. */
    runId: z.string().optional(),
    details: z.array(z.object({ field: z.string(), message: z.string() })).optional(),
    /** With budget_exceeded: the budget that refused, with what is left and when it resets. */
    budget: BudgetStateSchema.optional(),
    /** With rate_limited: the per-minute limit that refused (the Retry-After header says when to try again). */
    limit: z
      .object({ scope: z.enum(['tenant', 'key']), kind: z.enum(['requests', 'tokens']), perMinute: z.number().int().positive() })
      .optional(),
  }),
});
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

/** An error that knows how it is reported: the HTTP status, a code, and the field at fault. */
export class KeelsonError extends Error {
  constructor(
    readonly status: number,
    readonly code: ErrorCode,
    message: string,
    readonly field?: string,
    readonly details?: { field: string; message: string }[],
    readonly runId?: string,
  ) {
    super(message);
    this.name = 'KeelsonError';
  }

  toBody(): ErrorBody {
    const error: ErrorBody['error'] = { code: this.code, message: this.message };
    if (this.field !== undefined) error.field = this.field;
    if (this.runId !== undefined) error.runId = this.runId;
    if (this.details !== undefined) error.details = this.details;
    return { error };
  }
}

/** 402 budget_exceeded, naming the budget that has no room (how much is left, when it resets). */
export class BudgetExceededError extends KeelsonError {
  constructor(
    readonly budget: BudgetState,
    message: string,
  ) {
    super(402, ErrorCodes.budgetExceeded, message);
    this.name = 'BudgetExceededError';
  }

  override toBody(): ErrorBody {
    const body = super.toBody();
    body.error.budget = this.budget;
    return body;
  }
}
