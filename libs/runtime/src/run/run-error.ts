/** Why a run failed, stable and safe to switch on (a service maps them to its own error codes). */
export type RunErrorCode = 'timeout' | 'model_error' | 'provider_not_found' | 'max_steps';

export class RunError extends Error {
  constructor(
    readonly code: RunErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'RunError';
  }
}
