import { ErrorCodes, KeelsonError, RESOURCE_ID_PATTERN, TENANT_ID_PATTERN } from '@keelson/contracts';
import type { ReplayTarget } from './run-replay';

export const DEFAULT_WINDOW_SECONDS = 900;
export const MIN_WINDOW_SECONDS = 300;
export const MAX_WINDOW_SECONDS = 3_600;

const bad = (field: string, why: string) => new KeelsonError(400, ErrorCodes.validationFailed, `${field}: ${why}`, field);

/** `?window=` in seconds, 300 to 3600 (the traffic and spend windows keep an hour); default 900. */
export function parseWindow(query: Record<string, unknown>): number {
  const raw = query['window'];
  if (raw === undefined || raw === '') return DEFAULT_WINDOW_SECONDS;
  const value = typeof raw === 'string' && /^\d{1,5}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= MIN_WINDOW_SECONDS && value <= MAX_WINDOW_SECONDS)) {
    throw bad('window', `expected whole seconds from ${MIN_WINDOW_SECONDS} to ${MAX_WINDOW_SECONDS}`);
  }
  return value;
}

/**
 * `?tenant=&taskId=` or `?tenant=&sessionId=`: exactly one of the ids; the tenant defaults to the caller's,
 * and only an operator tenant may name another (403 otherwise).
 */
export function parseReplayTarget(query: Record<string, unknown>, caller: string, operator: boolean): ReplayTarget {
  for (const name of Object.keys(query)) {
    if (!['tenant', 'taskId', 'sessionId'].includes(name)) throw bad(name, 'unknown parameter; expected tenant, taskId or sessionId');
  }
  const text = (name: string) => {
    const v = query[name];
    if (v === undefined || v === '') return undefined;
    if (typeof v !== 'string') throw bad(name, 'give it once');
    return v;
  };
  const tenant = text('tenant') ?? caller;
  if (!TENANT_ID_PATTERN.test(tenant)) throw bad('tenant', 'not a tenant id');
  if (tenant !== caller && !operator) {
    throw new KeelsonError(403, ErrorCodes.forbidden, "tenant: only an operator tenant may open another tenant's runs", 'tenant');
  }
  const taskId = text('taskId');
  const sessionId = text('sessionId');
  if ((taskId === undefined) === (sessionId === undefined)) throw bad(taskId ? 'sessionId' : 'taskId', 'give exactly one of taskId and sessionId');
  const [kind, id, field] = taskId !== undefined ? (['task', taskId, 'taskId'] as const) : (['session', sessionId!, 'sessionId'] as const);
  if (!RESOURCE_ID_PATTERN.test(id)) throw bad(field, 'expected 1-128 letters, digits, _ or -');
  return { tenant, kind, id };
}
