import type { AuditEvent, OutputPolicy } from '@keelson/contracts';
import { filterOutput } from '@keelson/guard';

/**
 * Scrubs what audit stores with the tenant's output policy (guard's filter, in process): every string in
 * `data`, at any depth. A `block` action cannot apply to a record that must be kept, so it redacts instead.
 * Ids, types and actors are left alone: they are Keelson's own identifiers, and queries filter on them.
 * Access records (`auth.*`) keep the caller's network address (`source`, `sources[].address`): telling a
 * key's new address from its usual ones is what the access review is for, a legitimate security interest;
 * the tenant's audit retention bounds how long they are kept.
 */
export class AuditRedactor {
  constructor(private readonly policyFor: (tenant: string) => Promise<OutputPolicy>) {}

  async redact(event: AuditEvent): Promise<AuditEvent> {
    const policy = forAudit(await this.policyFor(event.tenant));
    if (!policy.enabled) return event;
    const keep = event.type.startsWith('auth.') ? ACCESS_ADDRESS_FIELDS : NOTHING;
    return { ...event, data: scrub(event.data, (text) => filterOutput(text, policy, { tenant: event.tenant }).text, keep) as Record<string, unknown> };
  }
}

function forAudit(policy: OutputPolicy): OutputPolicy {
  const actions = Object.fromEntries(Object.entries(policy.actions).map(([type, action]) => [type, action === 'block' ? 'redact' : action]));
  // Pseudonym tokens need the tenant's key store (guard-service); audit uses typed placeholders instead.
  return { ...policy, mode: policy.mode === 'pseudonym' ? 'placeholder' : policy.mode, actions };
}

const ACCESS_ADDRESS_FIELDS: ReadonlySet<string> = new Set(['source', 'address']);
const NOTHING: ReadonlySet<string> = new Set();

function scrub(value: unknown, filter: (text: string) => string, keep: ReadonlySet<string>): unknown {
  if (typeof value === 'string') return filter(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, filter, keep));
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, keep.has(k) && typeof v === 'string' ? v : scrub(v, filter, keep)]));
  }
  return value;
}
