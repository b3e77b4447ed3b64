import { parseAgentDefinition, type AgentDefinition } from './agent-definition';

/** The agents a service can run, by id. Every definition is validated on the way in. */
export class AgentRegistry {
  /** Replaced whole by subclasses that reload (AgentFileRegistry), so a reader never sees half a reload. */
  protected agents = new Map<string, AgentDefinition>();

  constructor(definitions: Iterable<unknown> = []) {
    for (const definition of definitions) this.register(definition);
  }

  /** Validates and adds a definition; `source` (a file path later) appears in any error. */
  register(raw: unknown, source?: string): AgentDefinition {
    const definition = parseAgentDefinition(raw, source);
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
}
