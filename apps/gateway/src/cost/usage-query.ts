import { AGENT_ID_PATTERN, ErrorCodes, KeelsonError } from '@keelson/contracts';

export const USAGE_DEFAULT_LIMIT = 100;
export const USAGE_MAX_LIMIT = 1_000;

/** `GET /v1/usage` after validation. */
export interface UsageQuery {
  agentId?: string;
  apiKeyId?: string;
  /** Start of the range (stream time), inclusive; ignored when a cursor is given. */
  from?: Date;
  /** End of the range (stream time), exclusive. */
  to?: Date;
  /** The stream sequence to start at: a previous page's `nextCursor`. */
  cursor?: number;
  limit: number;
}

/** ISO 8601: a date (`2026-11-27`, midnight UTC) or a date-time with `Z` or an offset. */
const ISO_8601 = /^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2}))?$/;

function time(field: string, value: string): Date {
  const ms = ISO_8601.test(value) ? Date.parse(value) : Number.NaN;
  if (Number.isNaN(ms)) throw invalid(field, 'expected an ISO 8601 date or date-time, such as 2026-11-27 or 2026-11-27T09:30:00Z');
  return new Date(ms);
}

function wholeNumber(field: string, value: string, min: number, max: number): number {
  const n = /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(n) || n < min || n > max) throw invalid(field, `expected a whole number from ${min} to ${max}`);
  return n;
}

/** Validates the query string of `GET /v1/usage`, throwing a 400 that names the first bad parameter. */
export function parseUsageQuery(query: Record<string, unknown>): UsageQuery {
  const param = (name: string): string | undefined => {
    const value = query[name];
    if (value === undefined || value === '') return undefined;
    if (typeof value !== 'string') throw invalid(name, 'give it once');
    return value;
  };
  const out: UsageQuery = { limit: USAGE_DEFAULT_LIMIT };
  const agent = param('agent');
  if (agent !== undefined) {
    if (!AGENT_ID_PATTERN.test(agent)) throw invalid('agent', 'not an agent id');
    out.agentId = agent;
  }
  const key = param('key');
  if (key !== undefined) {
    if (key.length > 128) throw invalid('key', 'at most 128 characters');
    out.apiKeyId = key;
  }
  const from = param('from');
  if (from !== undefined) out.from = time('from', from);
  const to = param('to');
  if (to !== undefined) out.to = time('to', to);
  if (out.from && out.to && out.to.getTime() <= out.from.getTime()) throw invalid('to', 'must be later than from');
  const limit = param('limit');
  if (limit !== undefined) out.limit = wholeNumber('limit', limit, 1, USAGE_MAX_LIMIT);
  const cursor = param('cursor');
  if (cursor !== undefined) out.cursor = wholeNumber('cursor', cursor, 1, Number.MAX_SAFE_INTEGER);
  return out;
}

const invalid = (field: string, message: string) =>
  new KeelsonError(400, ErrorCodes.validationFailed, `${field}: ${message}`, field, [{ field, message }]);
