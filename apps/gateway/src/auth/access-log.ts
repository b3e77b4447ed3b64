import { hostname } from 'node:os';
import { AuditTypes } from '@keelson/contracts';
import type { GatewayAuditDraft } from '../auditing/gateway-audit';

/** The default interval calls are counted over: one `auth.access` event per key and minute. */
export const ACCESS_LOG_INTERVAL_MS = 60_000;
/** Addresses kept per key and minute; more are counted, not listed. */
const MAX_SOURCES = 20;
/** Routes kept per key and minute (route templates are few; this is a guard, not a limit met in practice). */
const MAX_ROUTES = 100;

export interface AccessSample {
  at: number;
  tenant: string;
  keyId: string;
  method: string;
  route: string;
  status: number;
  source: string;
}

interface Minute {
  tenant: string;
  keyId: string;
  start: number;
  calls: number;
  errors: number;
  routes: Map<string, { calls: number; errors: number }>;
  sources: Map<string, number>;
  otherSources: number;
}

/**
 * Who called what, for the access review: authenticated calls counted per key and minute (per route, status
 * >= 400 as errors, source addresses) and written as one `auth.access` audit event per key and minute, instead
 * of one event per request. Each gateway replica writes its own; the review adds them up.
 */
export class AccessLog {
  private readonly minutes = new Map<string, Minute>();
  private readonly replica = `${hostname()}:${process.pid}`;

  constructor(readonly intervalMs = ACCESS_LOG_INTERVAL_MS) {}

  record(sample: AccessSample): void {
    const start = sample.at - (sample.at % this.intervalMs);
    const id = `${sample.tenant}\u0000${sample.keyId}\u0000${start}`;
    let minute = this.minutes.get(id);
    if (!minute) {
      minute = { tenant: sample.tenant, keyId: sample.keyId, start, calls: 0, errors: 0, routes: new Map(), sources: new Map(), otherSources: 0 };
      this.minutes.set(id, minute);
    }
    const failed = sample.status >= 400;
    minute.calls++;
    if (failed) minute.errors++;
    const routeKey = `${sample.method} ${sample.route}`;
    const route = minute.routes.get(routeKey) ?? (minute.routes.size < MAX_ROUTES ? { calls: 0, errors: 0 } : undefined);
    if (route) {
      route.calls++;
      if (failed) route.errors++;
      minute.routes.set(routeKey, route);
    }
    if (minute.sources.has(sample.source) || minute.sources.size < MAX_SOURCES) minute.sources.set(sample.source, (minute.sources.get(sample.source) ?? 0) + 1);
    else minute.otherSources++;
  }

  /** The audit events of every minute that has ended by `now` (every minute when `all`), forgotten once returned. */
  drain(now: number, all = false): GatewayAuditDraft[] {
    const out: GatewayAuditDraft[] = [];
    for (const [id, m] of this.minutes) {
      if (!all && m.start + this.intervalMs > now) continue;
      this.minutes.delete(id);
      out.push({
        id: `access:${m.keyId}:${m.start}:${this.replica}`,
        tenant: m.tenant,
        type: AuditTypes.authAccess,
        apiKeyId: m.keyId,
        data: {
          keyId: m.keyId,
          minute: new Date(m.start).toISOString(),
          ...(this.intervalMs !== ACCESS_LOG_INTERVAL_MS ? { intervalSeconds: this.intervalMs / 1000 } : {}),
          calls: m.calls,
          errors: m.errors,
          routes: [...m.routes].map(([route, c]) => ({ route, ...c })),
          sources: [...m.sources].map(([address, calls]) => ({ address, calls })),
          ...(m.otherSources ? { otherSources: m.otherSources } : {}),
          replica: this.replica,
        },
      });
    }
    return out;
  }
}
