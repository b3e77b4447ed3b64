import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { AgentRegistry, builtinAgents } from '@keelson/runtime';

/** The agents the gateway routes to; an unknown agent is refused here, before anything is queued. */
export class AgentCatalog {
  constructor(private readonly registry: AgentRegistry = new AgentRegistry(builtinAgents())) {}

  require(agentId: string): void {
    if (!this.registry.has(agentId)) {
      throw new KeelsonError(404, ErrorCodes.agentNotFound, `no agent "${agentId}"`, 'agentId');
    }
  }
}
