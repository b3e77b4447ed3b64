import { DEFAULT_EFFECTIVE_POLICY, filterOutput } from '@keelson/guard';
import type { OutputPolicy } from '@keelson/contracts';
import { serializeError } from './json-line';

/**
 * What log lines are scrubbed with: guard's output filter under the default policy (typed placeholders for
 * every entity type and secret), except IP addresses, which operators need in logs (peers, bind addresses)
 * and which are not personal on their own in a service log.
 */
const LOG_POLICY: OutputPolicy = { ...DEFAULT_EFFECTIVE_POLICY.output, mode: 'placeholder', actions: { ...DEFAULT_EFFECTIVE_POLICY.output.actions, IP_ADDRESS: 'off' } };

/** The text with PII and secrets replaced; quick for the short strings of a log line. */
export function scrubText(text: string): string {
  return filterOutput(text, LOG_POLICY).text;
}

/** Every string in `value`, at any depth, scrubbed; other values as they are; a repeated object is `[Circular]`. */
export function scrubDeep(value: unknown, seen = new WeakSet<object>()): unknown {
  if (typeof value === 'string') return scrubText(value);
  if (value === null || typeof value !== 'object') return value;
  if (seen.has(value)) return '[Circular]';
  seen.add(value);
  // An error's message and stack can quote the input that caused it.
  if (value instanceof Error) return scrubDeep(serializeError(value), seen);
  if (Array.isArray(value)) return value.map((v) => scrubDeep(v, seen));
  return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrubDeep(v, seen)]));
}
