import { z } from 'zod';
import { AGENT_ID_PATTERN } from '@keelson/contracts';

export const AgentDefinitionSchema = z
  .object({
    id: z.string().regex(AGENT_ID_PATTERN, 'must be a lowercase agent id (a-z, 0-9, _ and -)'),
    version: z.string().min(1),
    description: z.string(),
    model: z.object({ provider: z.string().min(1), name: z.string().min(1) }).strict(),
    systemPrompt: z.string(),
    limits: z
      .object({
        maxOutputTokens: z.number().int().positive(),
        /** Model calls per run; a plain chat run is one step, tool use (later) takes more. */
        maxSteps: z.number().int().positive(),
        timeoutMs: z.number().int().positive(),
      })
      .strict(),
  })
  // Strict, so a typo in an agent file (`systemPromt`) is an error rather than a silently ignored key.
  .strict();
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;

/** A definition that failed validation; `field` is the first bad path, e.g. `limits.timeoutMs`. */
export class AgentDefinitionError extends Error {
  constructor(
    readonly source: string,
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'AgentDefinitionError';
  }
}

/**
 * Validates an agent definition from anywhere: code today, agent files on disk later. `source` names where
 * it came from (a file path, `builtin`) so the error says which definition to fix.
 */
export function parseAgentDefinition(raw: unknown, source = 'inline'): AgentDefinition {
  const result = AgentDefinitionSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(definition)',
    message: issue.message,
  }));
  const list = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  throw new AgentDefinitionError(source, problems[0]!.field, `invalid agent definition (${source}): ${list}`);
}
