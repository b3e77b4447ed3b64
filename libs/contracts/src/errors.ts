import { z } from 'zod';

/** Machine-readable error codes: stable, documented, safe to switch on. */
export const ErrorCodes = {
  invalidJson: 'invalid_json',
  validationFailed: 'validation_failed',
  payloadTooLarge: 'payload_too_large',
  unsupportedMediaType: 'unsupported_media_type',
  unauthorized: 'unauthorized',
  notFound: 'not_found',
  agentNotFound: 'agent_not_found',
  sessionNotFound: 'session_not_found',
  taskNotFound: 'task_not_found',
  approvalNotFound: 'approval_not_found',
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
  agentFailed: 'agent_failed',
  /** A task whose every allowed attempt ended without finishing (the last one died with its process). */
  attemptsExhausted: 'attempts_exhausted',
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
