import { ErrorCodes, KeelsonError, type ConcurrencyPolicy } from '@keelson/contracts';
import { metricsRegistry } from '@keelson/observability';
import { AgentFileRegistry, AgentRegistry, builtinAgents, type RolloutPort } from '@keelson/runtime';

/**
 * The agents the gateway routes to; an unknown agent is refused here, before anything is queued. With
 * AGENTS_DIR it reads the same files as session-agent and task-worker, and sees a new file without a restart.
 */
export class AgentCatalog {
  private killSwitches: Pick<RolloutPort, 'refusal'> | undefined;

  constructor(private readonly registry: AgentRegistry = new AgentRegistry(builtinAgents())) {}

  /** The kill switches `require` and `requireEnabled` honour (RolloutControl's in-memory snapshot: no Redis call per request). */
  useKillSwitches(switches: Pick<RolloutPort, 'refusal'>): void {
    this.killSwitches = switches;
  }

  /** The versions of an agent this gateway has loaded, the default's first. */
  versions(agentId: string): string[] {
    return this.registry.versions(agentId);
  }

  /** Stops watching the agent directory, if there is one. */
  close(): void {
    if (this.registry instanceof AgentFileRegistry) this.registry.close();
  }

  /** The ids of the agents it routes to, in registration order. */
  list(): string[] {
    return this.registry.list().map((agent) => agent.id);
  }

  has(agentId: string): boolean {
    return this.registry.has(agentId);
  }

  /** The agent's session concurrency policy (enqueue for an agent it does not know). */
  concurrencyOf(agentId: string): ConcurrencyPolicy {
    return this.registry.get(agentId)?.concurrency ?? 'enqueue';
  }

  /** Whether any agent has a policy other than enqueue: if none has, a message need not look its agent up. */
  anyConcurrencyBesidesEnqueue(): boolean {
    return this.registry.list().some((agent) => agent.concurrency !== 'enqueue');
  }

  /** 404 for an unknown agent; with a tenant, also 503 agent_disabled / tenant_suspended when a kill switch is on. */
  require(agentId: string, tenant?: string): void {
    if (!this.registry.has(agentId)) {
      throw new KeelsonError(404, ErrorCodes.agentNotFound, `no agent "${agentId}"`, 'agentId');
    }
    if (tenant !== undefined) this.requireEnabled(tenant, agentId);
  }

  /** 503 agent_disabled / tenant_suspended when a kill switch is on for the tenant or the agent. */
  requireEnabled(tenant: string, agentId: string): void {
    const refusal = this.killSwitches?.refusal(tenant, agentId);
    if (refusal) {
      metricsRegistry().counter('killSwitchRefusals').inc({ code: refusal.code });
      throw refusal;
    }
  }
}
