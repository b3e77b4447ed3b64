/** The gateway's rate-limit settings (`RateLimitSettings`), provided by `costProviders`. */
export const RATE_LIMIT_SETTINGS = Symbol('RATE_LIMIT_SETTINGS');
