import { z } from 'zod';
import { integer } from './fields';

/** An origin as a browser sends it in `Origin`: scheme, host and port, no path. */
function isOrigin(value: string): boolean {
  try {
    const url = new URL(value);
    return ['http:', 'https:'].includes(url.protocol) && url.origin === value;
  } catch {
    return false;
  }
}

/**
 * CORS_ALLOWED_ORIGINS: origins allowed to call the API from a browser, comma-separated
 * (`https://app.example.com,http://localhost:5173`), or `*` for any origin. Empty (the default) sends no
 * CORS headers at all, so browsers on other origins are refused.
 */
const corsOrigins = z
  .string()
  .default('')
  .transform((v) => v.split(',').map((o) => o.trim()).filter(Boolean))
  .refine((list) => (list.includes('*') ? list.length === 1 : list.every(isOrigin)), {
    message: 'expected origins such as https://app.example.com separated by commas (scheme and host, no path or trailing slash), or * alone',
  });

/**
 * The HTTP edge's limits, timeouts and CORS (docs/operations.md, "HTTP edge"). Spread into a service's schema
 * (`baseServiceConfig.extend({ ...httpSettings })`) and hand the parsed config to bootstrapService as `http`.
 */
export const httpSettings = {
  /** Time to receive a whole request, headers and body (slow-loris); a response stream is not limited by it. */
  HTTP_REQUEST_TIMEOUT_MS: integer(30_000, 1_000, 600_000),
  /** Time to receive the request headers; at most HTTP_REQUEST_TIMEOUT_MS (a larger value is lowered to it). */
  HTTP_HEADERS_TIMEOUT_MS: integer(10_000, 1_000, 600_000),
  /** How long an idle keep-alive connection is kept between requests; above a load balancer's idle timeout. */
  HTTP_KEEP_ALIVE_TIMEOUT_MS: integer(72_000, 1_000, 600_000),
  /**
   * Idle time after which any socket is closed, including a response stream that writes nothing; 0 (the
   * default) is off, because SSE streams and the session WebSocket stay open for minutes.
   */
  HTTP_CONNECTION_TIMEOUT_MS: integer(0, 0, 3_600_000),
  /** Request line plus headers, in bytes (Node's maxHeaderSize); larger answers 431. */
  HTTP_MAX_HEADER_BYTES: integer(16_384, 1_024, 1_048_576),
  /** Longest path plus query string, in characters; longer answers 414. */
  HTTP_MAX_URL_LENGTH: integer(4_096, 256, 65_536),
  /** Deepest nesting of arrays and objects a JSON body may have; deeper answers 400 json_too_deep. */
  HTTP_MAX_JSON_DEPTH: integer(64, 1, 1_000),
  /**
   * Connections the kernel holds for the server before it accepts them (listen backlog; the kernel caps it at
   * net.core.somaxconn). Node's 511 overflows in a burst while a saturated process is slow to accept: the
   * dropped SYNs come back after 1, 3, 7... s, which made the seconds-long tail of admitted requests at twice
   * capacity (docs/benchmarks.md, overload).
   */
  HTTP_LISTEN_BACKLOG: integer(4_096, 1, 65_535),
  CORS_ALLOWED_ORIGINS: corsOrigins,
  /** How long a browser may cache a preflight answer (Access-Control-Max-Age). */
  CORS_MAX_AGE_SECONDS: integer(600, 0, 86_400),
};

export const httpSettingsSchema = z.object(httpSettings);
export type HttpSettings = z.infer<typeof httpSettingsSchema>;

/** Every HTTP edge setting at its default: what a service gets when it passes none. */
export const defaultHttpSettings = (): HttpSettings => httpSettingsSchema.parse({});
