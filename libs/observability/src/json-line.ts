import { format } from 'winston';

// winston's transports write info[Symbol.for('message')]; triple-beam names it MESSAGE.
const MESSAGE = Symbol.for('message');
const LEADING_FIELDS = ['timestamp', 'level', 'service', 'message', 'trace_id', 'span_id', 'tenant'] as const;

/**
 * The final format: one JSON object per line, fixed fields first (easy to scan in a terminal), then the
 * call's meta. A meta key that would overwrite a fixed field is kept as `meta.<key>` instead.
 */
export const jsonLine = format((info) => {
  const line: Record<string, unknown> = {};
  for (const key of LEADING_FIELDS) if (info[key] !== undefined) line[key] = info[key];
  const fields = (info['fields'] ?? {}) as Record<string, unknown>;
  for (const [key, value] of Object.entries(fields)) line[key in line ? `meta.${key}` : key] = value;
  info[MESSAGE] = stringify(line);
  return info;
});

/** JSON.stringify that never throws on what people put in meta: Errors, bigints, cycles. */
export function stringify(value: unknown): string {
  const seen = new WeakSet<object>();
  return JSON.stringify(value, (_key, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (typeof v !== 'object' || v === null) return v;
    // A shared (not only circular) reference is also cut short; cheap, and good enough for logs.
    if (seen.has(v)) return '[Circular]';
    seen.add(v);
    return v instanceof Error ? serializeError(v) : v;
  });
}

/** An Error's useful parts, which JSON.stringify alone drops (they are not enumerable): `{}` tells nobody anything. */
export function serializeError(err: Error): Record<string, unknown> {
  // Own enumerable properties first (`code`, `status` ...), then the standard ones on top.
  return { ...err, name: err.name, message: err.message, stack: err.stack, ...(err.cause !== undefined && { cause: err.cause }) };
}
