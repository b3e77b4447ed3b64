/**
 * Thrown by a handler when a message can never succeed (malformed, refers to nothing, forbidden): the runner
 * dead-letters it at once with `reason` and terminates it, without retries.
 */
export class PoisonMessageError extends Error {
  override readonly name = 'PoisonMessageError';
  constructor(
    readonly reason: string,
    readonly code?: string,
  ) {
    super(reason);
  }
}

/**
 * Thrown by a handler when a message cannot be handled yet (e.g. an earlier turn holds the session's lease):
 * the runner naks it with `delayMs`, and does not log it as a failure. Each deferral is a delivery, so it
 * counts against the consumer's maxDeliver.
 */
export class DeferError extends Error {
  override readonly name = 'DeferError';
  constructor(
    readonly delayMs: number,
    readonly reason: string,
  ) {
    super(reason);
  }
}

/** A message body that is not UTF-8 JSON. */
export class InvalidJsonError extends Error {
  override readonly name = 'InvalidJsonError';
  readonly code = 'invalid_json';
  constructor(detail: string, cause?: unknown) {
    super(`invalid JSON: ${detail}`, cause === undefined ? undefined : { cause });
  }
}

/** request(): nobody listens on the subject (no replica of the service is running). */
export class NoRespondersError extends Error {
  override readonly name = 'NoRespondersError';
  constructor(readonly subject: string) {
    super(`no responders on ${subject}`);
  }
}

/** request(): a responder exists but did not answer in time. */
export class RequestTimeoutError extends Error {
  override readonly name = 'RequestTimeoutError';
  constructor(
    readonly subject: string,
    readonly timeoutMs: number,
  ) {
    super(`no reply on ${subject} within ${timeoutMs} ms`);
  }
}

export type PublishFailure = 'no_stream' | 'timeout' | 'rejected';

/**
 * JetStreamPublisher.publish() failed: no stream captures the subject, the PubAck did not arrive in time
 * (the message may or may not be stored: publish again with the same msgId), or the server rejected it.
 */
export class PublishError extends Error {
  override readonly name = 'PublishError';
  constructor(
    readonly subject: string,
    readonly failure: PublishFailure,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** A stream or consumer could not be created or brought in line with its spec. */
export class ProvisioningError extends Error {
  override readonly name = 'ProvisioningError';
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** The NATS client's error code ('503', 'TIMEOUT', ...) or undefined. */
export function natsErrorCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** The JetStream API error code (10059 stream not found, 10014 consumer not found, ...) or undefined. */
export function jsApiErrorCode(err: unknown): number | undefined {
  const apiError = (err as { api_error?: { err_code?: unknown } } | undefined)?.api_error;
  return typeof apiError?.err_code === 'number' ? apiError.err_code : undefined;
}
