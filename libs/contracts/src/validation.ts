import type { z } from 'zod';
import { ErrorCodes, KeelsonError } from './errors';

/** `messages[1].content`, the way a user would point at the field. */
function fieldPath(path: PropertyKey[]): string {
  return path.reduce<string>((acc, key) => {
    if (typeof key === 'number') return `${acc}[${key}]`;
    return acc === '' ? String(key) : `${acc}.${String(key)}`;
  }, '');
}

/**
 * Parses untrusted input, or throws a 400 KeelsonError naming the first bad field and listing all.
 * `root` prefixes paths when the value sits inside something larger (a NATS body, a query string).
 */
export function parseOrThrow<S extends z.ZodType>(schema: S, value: unknown, root = ''): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => {
    // A strict object reports unknown keys on the object itself; point at the first unknown key instead.
    const keys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const path = fieldPath([...(issue.path as PropertyKey[]), ...keys.slice(0, 1)]);
    const field = root && path ? `${root}.${path}` : root || path || '(body)';
    return { field, message: issue.message };
  });
  const first = details[0]!;
  throw new KeelsonError(
    400,
    ErrorCodes.validationFailed,
    `${first.field}: ${first.message}`,
    first.field,
    details,
  );
}
