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
  /**
   * Every loaded version of each agent, the default (`agents`) among them; a rollout (docs/rollouts.md) picks
   * among them per run. Replaced whole with `agents`.
   */
  protected versionsById = new Map<string, Map<string, AgentDefinition>>();
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
    this.versionsById.set(definition.id, new Map([...(this.versionsById.get(definition.id) ?? []), [definition.version, definition]]));
    return definition;
  }

  /**
   * Adds another version of an agent registered already, served only when a rollout picks it; the default
   * (`get`) stays. Throws when that id has no default yet, or already has this version.
   */
  addVersion(raw: unknown, source?: string): AgentDefinition {
    const definition = parseAgentDefinition(raw, source);
    const unknown = unknownPolicyError(definition, this.policies, source);
    if (unknown) throw unknown;
    const versions = this.versionsById.get(definition.id);
    if (!versions) throw new Error(`agent "${definition.id}" is not registered; register its default version first`);
    if (versions.has(definition.version)) throw new Error(`agent "${definition.id}" version "${definition.version}" is already registered`);
    versions.set(definition.version, definition);
    return definition;
  }

  /** One version of an agent: the default or another loaded one (`support@2.yaml`). */
  getVersion(id: string, version: string): AgentDefinition | undefined {
    return this.versionsById.get(id)?.get(version);
  }

  /** The versions loaded for an agent id, the default's first. */
  versions(id: string): string[] {
    const all = this.versionsById.get(id);
    if (!all) return [];
    const main = this.agents.get(id)?.version;
    return [...all.keys()].sort((a, b) => (a === main ? -1 : b === main ? 1 : a.localeCompare(b)));
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
