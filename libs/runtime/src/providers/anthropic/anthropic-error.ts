/** Why a call to the Anthropic API failed, stable and safe to switch on. */
export type AnthropicErrorCode =
  | 'rate_limited'
  | 'overloaded'
  | 'upstream_error'
  | 'bad_request'
  | 'unauthorized'
  | 'timeout'
  | 'stream_cut';

const RETRYABLE: ReadonlySet<AnthropicErrorCode> = new Set(['rate_limited', 'overloaded', 'upstream_error', 'timeout', 'stream_cut']);

/**
 * A failed Anthropic call: the HTTP status (when there was a response), a code, the API's own error type and
 * message. The API key never appears here: messages are built without it and upstream text is redacted.
 */
export class AnthropicProviderError extends Error {
  readonly retryable: boolean;

  constructor(
    readonly code: AnthropicErrorCode,
    message: string,
    readonly details: { status?: number; upstreamType?: string; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'AnthropicProviderError';
    this.retryable = RETRYABLE.has(code);
  }

  get status(): number | undefined {
    return this.details.status;
  }
}

export function codeForStatus(status: number): AnthropicErrorCode {
  if (status === 429) return 'rate_limited';
  if (status === 529) return 'overloaded';
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 408) return 'timeout';
  if (status >= 500) return 'upstream_error';
  return 'bad_request';
}

/** The code for an `error` event's `error.type` (the API's error types, sent mid-stream without a status). */
export function codeForErrorType(type: string | undefined): AnthropicErrorCode {
  switch (type) {
    case 'overloaded_error':
      return 'overloaded';
    case 'rate_limit_error':
      return 'rate_limited';
    case 'invalid_request_error':
    case 'not_found_error':
    case 'request_too_large':
      return 'bad_request';
    case 'authentication_error':
    case 'permission_error':
      return 'unauthorized';
    default:
      return 'upstream_error';
  }
}

/** Removes every occurrence of the key from text that came from elsewhere (an upstream message, a cause). */
export function redact(text: string, secret: string): string {
  return secret ? text.split(secret).join('[redacted]') : text;
}
