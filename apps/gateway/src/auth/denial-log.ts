import { AuditTypes, type DenialReason } from '@keelson/contracts';
import type { GatewayAudit } from '../auditing/gateway-audit';

/** Denials whose tenant is unknown (no key, an unknown key, an unreadable token) go to this reserved tenant's trail. */
export const PLATFORM_TENANT = 'keelson';
/** One `auth.denied` event per key (or source address) and reason in this time; the rest are counted into the next. */
export const DENIAL_THROTTLE_MS = 10_000;
const MAX_TRACKED = 10_000;

export interface Denial {
  reason: DenialReason;
  tenant?: string | undefined;
  keyId?: string | undefined;
  source: string;
  method: string;
  route: string;
  scope?: string | undefined;
  message: string;
}

/**
 * Records every 401/403 as an `auth.denied` audit event (best effort: a refusal never waits for the trail),
 * throttled per key or source and reason, so a flood of bad keys is a handful of events that say how many
 * were folded into them, not a flood of writes.
 */
export class DenialLog {
  private readonly last = new Map<string, { at: number; suppressed: number }>();

  constructor(
    private readonly audit: Pick<GatewayAudit, 'noted'>,
    private readonly now: () => number = Date.now,
  ) {}

  record(denial: Denial): void {
    const at = this.now();
    const id = `${denial.tenant ?? ''}|${denial.keyId ?? denial.source}|${denial.reason}`;
    const seen = this.last.get(id);
    if (seen && at - seen.at < DENIAL_THROTTLE_MS) {
      seen.suppressed++;
      return;
    }
    if (this.last.size >= MAX_TRACKED) this.last.delete(this.last.keys().next().value!);
    this.last.set(id, { at, suppressed: 0 });
    const { tenant, keyId, ...data } = denial;
    void this.audit.noted({
      tenant: tenant ?? PLATFORM_TENANT,
      type: AuditTypes.authDenied,
      ...(keyId ? { apiKeyId: keyId } : {}),
      data: { ...data, ...(keyId ? { keyId } : {}), ...(seen?.suppressed ? { suppressedBefore: seen.suppressed } : {}) },
    });
  }
}
