import { GuardSubjects, type AuditEvent, type GuardPolicyRpcReply, type OutputPolicy } from '@keelson/contracts';
import { DEFAULT_EFFECTIVE_POLICY, filterOutput, resolvePolicy } from '@keelson/guard';
import { request, type MessagingLogger } from '@keelson/messaging';
import type { NatsConnection } from 'nats';

/**
 * Scrubs what audit stores with the tenant's output policy (guard's filter, in process): every string in
 * `data`, at any depth. A `block` action cannot apply to a record that must be kept, so it redacts instead.
 * Ids, types and actors are left alone: they are Keelson's own identifiers, and queries filter on them.
 */
export class AuditRedactor {
  constructor(private readonly policyFor: (tenant: string) => Promise<OutputPolicy>) {}

  async redact(event: AuditEvent): Promise<AuditEvent> {
    const policy = forAudit(await this.policyFor(event.tenant));
    if (!policy.enabled) return event;
    return { ...event, data: scrub(event.data, (text) => filterOutput(text, policy, { tenant: event.tenant }).text) as Record<string, unknown> };
  }
}

function forAudit(policy: OutputPolicy): OutputPolicy {
  const actions = Object.fromEntries(Object.entries(policy.actions).map(([type, action]) => [type, action === 'block' ? 'redact' : action]));
  // Pseudonym tokens need the tenant's key store (guard-service); audit uses typed placeholders instead.
  return { ...policy, mode: policy.mode === 'pseudonym' ? 'placeholder' : policy.mode, actions };
}

function scrub(value: unknown, filter: (text: string) => string): unknown {
  if (typeof value === 'string') return filter(value);
  if (Array.isArray(value)) return value.map((v) => scrub(v, filter));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, filter)]));
  return value;
}

/**
 * Tenants' output policies from guard-service (`keelson.rpc.guard.policy`), each reused for `ttlMs`. When
 * guard-service does not answer, the last policy known is used, else the default policy, which redacts every
 * entity type: an outage makes audit scrub more, never less.
 */
export class GuardPolicySource {
  private readonly cache = new Map<string, { policy: OutputPolicy; at: number }>();

  constructor(
    private readonly nats: NatsConnection,
    private readonly logger: MessagingLogger,
    private readonly ttlMs: number,
    private readonly timeoutMs = 2_000,
  ) {}

  async outputPolicy(tenant: string): Promise<OutputPolicy> {
    const cached = this.cache.get(tenant);
    if (cached && Date.now() - cached.at < this.ttlMs) return cached.policy;
    try {
      const reply = await request<GuardPolicyRpcReply>(this.nats, GuardSubjects.policyRpc, { tenant }, { timeoutMs: this.timeoutMs });
      if (!reply.ok) throw new Error(`${reply.code}: ${reply.message}`);
      const policy = resolvePolicy(reply.policy).output;
      this.cache.set(tenant, { policy, at: Date.now() });
      return policy;
    } catch (err) {
      this.logger.warn('guard policy unavailable; scrubbing with the last known or the default policy', { tenant, error: (err as Error).message });
      return cached?.policy ?? DEFAULT_EFFECTIVE_POLICY.output;
    }
  }
}
