import { ErrorCodes, KeelsonError, type ConcurrencyPolicy } from '@keelson/contracts';
import { AgentFileRegistry, AgentRegistry, builtinAgents } from '@keelson/runtime';

/**
 * The agents the gateway routes to; an unknown agent is refused here, before anything is queued. With
 * AGENTS_DIR it reads the same files as session-agent and task-worker, and sees a new file without a restart.
 */
export class AgentCatalog {
  constructor(private readonly registry: AgentRegistry = new AgentRegistry(builtinAgents())) {}

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

  require(agentId: string): void {
    if (!this.registry.has(agentId)) {
      throw new KeelsonError(404, ErrorCodes.agentNotFound, `no agent "${agentId}"`, 'agentId');
    }
  }
}
