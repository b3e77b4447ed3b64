/** Why a model provider call failed, stable and safe to switch on. */
export type ProviderErrorCode =
  | 'rate_limited'
  | 'upstream_error'
  | 'bad_request'
  | 'unauthorized'
  | 'timeout'
  | 'network_error'
  | 'stream_cut'
  | 'bad_response';

const RETRYABLE: ReadonlySet<ProviderErrorCode> = new Set(['rate_limited', 'upstream_error', 'timeout', 'network_error', 'stream_cut']);

/**
 * A failed provider call. `message` carries the upstream's own message (OpenAI's `error.message`) with the API
 * key scrubbed out; `retryAfterMs` is the server's `Retry-After`, when it sent one.
 */
export class ProviderError extends Error {
  readonly status: number | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    options: { status?: number; retryAfterMs?: number; cause?: unknown } = {},
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'ProviderError';
    this.status = options.status;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Worth another attempt, provided nothing was streamed yet. */
  get retryable(): boolean {
    return RETRYABLE.has(this.code);
  }
}

export function codeForStatus(status: number): ProviderErrorCode {
  if (status === 401 || status === 403) return 'unauthorized';
  if (status === 408) return 'timeout';
  if (status === 429) return 'rate_limited';
  if (status >= 500) return 'upstream_error';
  return 'bad_request';
}

/** The upstream's message from an OpenAI-shaped error body `{error:{message,type,code}}`, or the raw text. */
export function upstreamMessage(bodyText: string): string {
  try {
    const body = JSON.parse(bodyText) as { error?: { message?: unknown; type?: unknown; code?: unknown } | string; message?: unknown };
    if (typeof body.error === 'string') return body.error;
    if (body.error && typeof body.error.message === 'string') {
      const detail = [body.error.type, body.error.code].filter((v) => typeof v === 'string' && v).join('/');
      return detail ? `${body.error.message} (${detail})` : body.error.message;
    }
    if (typeof body.message === 'string') return body.message;
  } catch {
    // not JSON: fall through to the text itself
  }
  return bodyText.trim().slice(0, 500) || '(empty body)';
}

/** `text` with every occurrence of `secret` replaced: upstream messages may echo the key. */
export function redact(text: string, secret: string | undefined): string {
  if (!secret) return text;
  return text.split(secret).join('[redacted]');
}
