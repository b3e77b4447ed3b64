import type { RoutingPolicy } from '@keelson/cost';
import { AgentDefinitionError, parseAgentDefinition, type AgentDefinition } from './agent-definition';
import { builtinRoutingPolicies } from './routing-policies';

/** The refusal of an agent that names a routing policy the registry does not have, or undefined. */
export function unknownPolicyError(definition: AgentDefinition, policies: ReadonlyMap<string, RoutingPolicy>, source = 'inline'): AgentDefinitionError | undefined {
  const name = definition.model.routing;
  if (name === undefined || policies.has(name)) return undefined;
  const known = [...policies.keys()].sort().join(', ') || 'none';
  return new AgentDefinitionError(source, 'model.routing', `${source}: model.routing: no routing policy "${name}" (known: ${known})`);
}

/** The agents a service can run, by id. Every definition is validated on the way in. */
export class AgentRegistry {
  /** Replaced whole by subclasses that reload (AgentFileRegistry), so a reader never sees half a reload. */
  protected agents = new Map<string, AgentDefinition>();
  /** Routing policies by name; the built-in ones (`balanced`) unless replaced. Replaced whole on reload too. */
  protected policies: Map<string, RoutingPolicy> = builtinRoutingPolicies();

  constructor(definitions: Iterable<unknown> = []) {
    for (const definition of definitions) this.register(definition);
  }

  /** Validates and adds a definition; `source` (a file path later) appears in any error. */
  register(raw: unknown, source?: string): AgentDefinition {
    const definition = parseAgentDefinition(raw, source);
    const unknown = unknownPolicyError(definition, this.policies, source);
    if (unknown) throw unknown;
    if (this.agents.has(definition.id)) throw new Error(`agent "${definition.id}" is already registered`);
    this.agents.set(definition.id, definition);
    return definition;
  }

  get(id: string): AgentDefinition | undefined {
    return this.agents.get(id);
  }

  has(id: string): boolean {
    return this.agents.has(id);
  }

  list(): AgentDefinition[] {
    return [...this.agents.values()];
  }

  /** The routing policy an agent's `model.routing` names. */
  policy(name: string): RoutingPolicy | undefined {
    return this.policies.get(name);
  }

  policyNames(): string[] {
    return [...this.policies.keys()].sort();
  }
}
