import { z } from 'zod';

/** A URL whose scheme is one of `schemes`; the parsed value stays a string, as clients expect. */
function urlWith(schemes: string[], message: string) {
  return z.string().refine((value) => {
    try {
      return schemes.includes(new URL(value).protocol.slice(0, -1));
    } catch {
      return false;
    }
  }, message);
}

const NATS_SCHEMES = ['nats', 'tls'];
/** One NATS URL, or a cluster's seed URLs comma-separated (`nats://a:4222,nats://b:4222`); the client tries each. */
export const natsUrl = z
  .string()
  .refine(
    (value) =>
      value.split(',').every((one) => {
        try {
          return NATS_SCHEMES.includes(new URL(one.trim()).protocol.slice(0, -1));
        } catch {
          return false;
        }
      }),
    'expected a nats:// or tls:// URL, or several comma-separated',
  )
  .default('nats://127.0.0.1:4222');

export const redisUrl = urlWith(['redis', 'rediss'], 'expected a redis:// or rediss:// URL').default(
  'redis://127.0.0.1:6379',
);

export const LOG_LEVELS = ['error', 'warn', 'info', 'debug'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];
export const logLevel = z.enum(LOG_LEVELS, { error: `expected one of ${LOG_LEVELS.join(', ')}` }).default('info');

const PORT_MESSAGE = 'expected an integer between 0 and 65535';
/** A TCP port as a number; decimal digits only, so `0x50` or `1e3` are refused rather than guessed at. */
export const portNumber = (fallback: number) =>
  z
    .string()
    .regex(/^\d{1,5}$/, PORT_MESSAGE)
    .transform(Number)
    .refine((n) => n <= 65535, PORT_MESSAGE)
    .default(fallback);

/**
 * A port variable as a one-key shape, because a service may listen on several (`HTTP_PORT`, `METRICS_PORT`):
 * `baseServiceConfig.extend({ ...port('PORT', 3000) })`.
 */
export function port<N extends string>(name: N, fallback: number): { [K in N]: ReturnType<typeof portNumber> } {
  return { [name]: portNumber(fallback) } as { [K in N]: ReturnType<typeof portNumber> };
}

/** Base URL of an OTLP/HTTP collector (`http://collector:4318`); the exporter appends `/v1/traces`. */
export const otlpEndpoint = urlWith(['http', 'https'], 'expected an http:// or https:// URL').optional();

const RATIO_MESSAGE = 'expected a number between 0 and 1';
/** Share of new traces to sample, as OTEL_TRACES_SAMPLER_ARG; children follow their parent's decision. */
export const samplerRatio = z
  .string()
  .regex(/^(\d+\.?\d*|\.\d+)$/, RATIO_MESSAGE)
  .transform(Number)
  .refine((n) => n <= 1, RATIO_MESSAGE)
  .default(1);

export const nodeEnv = z
  .enum(['development', 'test', 'production'], { error: 'expected one of development, test, production' })
  .default('development');

/** A whole number setting within [min, max], written in decimal digits. */
export const integer = (fallback: number, min = 0, max = Number.MAX_SAFE_INTEGER) => {
  const message = `expected an integer between ${min} and ${max}`;
  return z
    .string()
    .regex(/^\d+$/, message)
    .transform(Number)
    .refine((n) => n >= min && n <= max, message)
    .default(fallback);
};

/** A comma-separated list of whole numbers, such as retry delays in milliseconds: `500,2000,8000`. */
export const integerList = (fallback: number[]) =>
  z
    .string()
    .regex(/^\d+(,\d+)*$/, 'expected comma-separated whole numbers, such as 500,2000,8000')
    .transform((s) => s.split(',').map(Number))
    .default(fallback);

/**
 * A setting holding JSON text, parsed and checked against `shape`: invalid JSON names `example`, a shape
 * mismatch names each wrong part by its path (`tenants.acme: expected a region`).
 */
export function jsonSetting<T extends z.ZodType>(shape: T, example: string) {
  return z.string().transform((text, ctx): z.output<T> => {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      ctx.addIssue({ code: 'custom', message: `expected JSON such as ${example}` });
      return z.NEVER;
    }
    const parsed = shape.safeParse(value);
    if (!parsed.success) {
      // A record key's own message ('expected a tenant id') sits one level down, under zod's 'Invalid key'.
      const why = parsed.error.issues
        .map((i) => `${i.path.length ? i.path.join('.') : '(root)'}: ${i.code === 'invalid_key' ? (i.issues[0]?.message ?? i.message) : i.message}`)
        .join('; ');
      ctx.addIssue({ code: 'custom', message: `expected JSON such as ${example}; ${why}` });
      return z.NEVER;
    }
    return parsed.data;
  });
}
