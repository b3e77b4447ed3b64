import { ErrorCodes, KeelsonError, type ErrorBody } from '@keelson/contracts';
import type { RateLimitRule } from '@keelson/cost';

/** The limit a 429 names in its body: `{ scope: 'tenant' | 'key', kind: 'requests' | 'tokens', perMinute }`. */
export type RateLimitInBody = Pick<RateLimitRule, 'scope' | 'kind' | 'perMinute'>;

/**
 * 429 rate_limited, naming the limit that refused the call. The `Retry-After` header (whole seconds, rounded
 * up) is set on the reply by whoever throws it, since an error body cannot carry headers.
 */
export class RateLimitedError extends KeelsonError {
  constructor(
    readonly limit: RateLimitInBody,
    readonly retryAfterSeconds: number,
  ) {
    super(429, ErrorCodes.rateLimited, describeLimit(limit, retryAfterSeconds));
    this.name = 'RateLimitedError';
  }

  override toBody(): ErrorBody {
    const body = super.toBody();
    // ErrorBodySchema has no `limit` field (yet); the body is serialised as it is, so the field goes out.
    Object.assign(body.error, { limit: { scope: this.limit.scope, kind: this.limit.kind, perMinute: this.limit.perMinute } });
    return body;
  }
}

export function describeLimit(limit: RateLimitInBody, retryAfterSeconds: number): string {
  const who = limit.scope === 'tenant' ? "the tenant's" : "the API key's";
  return `${who} limit of ${limit.perMinute} ${limit.kind} per minute is used up; retry after ${retryAfterSeconds} s`;
}

/** The Retry-After value for a wait in milliseconds: whole seconds, rounded up, at least 1. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1_000));
