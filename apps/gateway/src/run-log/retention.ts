import { Streams } from '@keelson/contracts';
import { z } from 'zod';

const UNITS_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const DURATION = /^(\d+)(ms|s|m|h|d)?$/;

/** `90`, `90s`, `15m`, `2h`, `7d` (a bare number is seconds) to milliseconds; undefined when it is not one. */
export function parseDurationMs(value: string | number): number | undefined {
  if (typeof value === 'number') return Number.isSafeInteger(value) && value > 0 ? value * 1_000 : undefined;
  const match = DURATION.exec(value.trim());
  if (!match) return undefined;
  const ms = Number(match[1]) * UNITS_MS[match[2] ?? 's']!;
  return ms > 0 && Number.isSafeInteger(ms) ? ms : undefined;
}

const DURATION_HINT = 'expected a duration such as 3600, 90s, 15m, 2h or 7d';

/** RUN_LOG_RETENTION: the replay window of every tenant without its own; default the run log's max age. */
export const runLogRetention = z
  .string()
  .default(`${Streams.runs.maxAgeMs}ms`)
  .transform((value, ctx) => {
    const ms = parseDurationMs(value);
    if (ms === undefined) ctx.addIssue({ code: 'custom', message: DURATION_HINT });
    return ms ?? 0;
  });

/** RUN_LOG_RETENTION_BY_TENANT: a JSON object of tenant to duration, e.g. `{"acme":"2h","beta":600}`. */
export const runLogRetentionByTenant = z
  .string()
  .default('{}')
  .transform((value, ctx) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(value);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON object such as {"acme":"2h"}' });
      return {};
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      ctx.addIssue({ code: 'custom', message: 'expected a JSON object such as {"acme":"2h"}' });
      return {};
    }
    const windows: Record<string, number> = {};
    for (const [tenant, raw] of Object.entries(parsed)) {
      const ms = typeof raw === 'string' || typeof raw === 'number' ? parseDurationMs(raw) : undefined;
      if (ms === undefined) ctx.addIssue({ code: 'custom', message: `tenant "${tenant}": ${DURATION_HINT}` });
      else windows[tenant] = ms;
    }
    return windows;
  });

/**
 * The replay window of each tenant: how far back a stream may start. Enforced by the gateway, not by
 * JetStream (nats-server 2.9 has one max age per stream), so it can only shorten what the stream keeps.
 */
export class RetentionPolicy {
  constructor(
    private readonly defaultMs: number,
    private readonly byTenant: Readonly<Record<string, number>> = {},
  ) {}

  windowMs(tenant: string): number {
    return this.byTenant[tenant] ?? this.defaultMs;
  }

  /** The oldest moment a tenant's replay may reach. */
  horizon(tenant: string, now = Date.now()): Date {
    return new Date(now - this.windowMs(tenant));
  }
}
