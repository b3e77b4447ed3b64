import type { GuardPolicy } from '@keelson/contracts';
import { resolvePolicy, type EffectivePolicy } from './policy';

export interface PolicyCacheOptions {
  /** How long a tenant's policy is reused before it is fetched again. */
  ttlMs: number;
  /** Told when a fetch fails (the last known or the default policy is used then). */
  onError?: (tenant: string, err: unknown) => void;
  /** After a failed fetch, how long before the next try; default 5 000 ms (a down guard-service is not asked per message). */
  retryAfterErrorMs?: number;
}

/**
 * Tenants' policies for in-process guards (the runtimes, audit-service), fetched from where they are kept
 * (guard-service, over `keelson.rpc.guard.policy`) and reused for `ttlMs`, so a policy change applies
 * everywhere within that time. One fetch at a time per tenant. When the fetch fails, the last policy known
 * is used, else the default one: every check on, every entity type redacted, so an outage never loosens.
 */
export class GuardPolicyCache {
  private readonly entries = new Map<string, { policy: GuardPolicy | undefined; at: number }>();
  private readonly inflight = new Map<string, Promise<GuardPolicy | undefined>>();

  constructor(
    private readonly fetch: (tenant: string) => Promise<GuardPolicy | undefined>,
    private readonly options: PolicyCacheOptions,
  ) {}

  /** The tenant's policy with the agent's override applied. */
  async effective(tenant: string, agentId?: string): Promise<EffectivePolicy> {
    return resolvePolicy(await this.policy(tenant), agentId);
  }

  private policy(tenant: string): Promise<GuardPolicy | undefined> {
    const cached = this.entries.get(tenant);
    if (cached && Date.now() - cached.at < this.options.ttlMs) return Promise.resolve(cached.policy);
    let pending = this.inflight.get(tenant);
    if (!pending) {
      pending = this.fetch(tenant)
        .then((policy) => {
          this.entries.set(tenant, { policy, at: Date.now() });
          return policy;
        })
        .catch((err: unknown) => {
          this.options.onError?.(tenant, err);
          const retryMs = Math.min(this.options.retryAfterErrorMs ?? 5_000, this.options.ttlMs);
          this.entries.set(tenant, { policy: cached?.policy, at: Date.now() - this.options.ttlMs + retryMs });
          return cached?.policy;
        })
        .finally(() => this.inflight.delete(tenant));
      this.inflight.set(tenant, pending);
    }
    return pending;
  }
}
