import { z } from 'zod';
import { AGENT_ID_PATTERN, ConcurrencyPolicySchema } from '@keelson/contracts';

const POSITIVE_INTEGER = 'expected a positive integer';
const positiveInteger = () => z.number({ error: POSITIVE_INTEGER }).int(POSITIVE_INTEGER).positive(POSITIVE_INTEGER);

/** The names function-calling APIs accept for a tool (OpenAI and Anthropic agree on this much). */
export const TOOL_NAME_PATTERN = /^[a-zA-Z0-9_-]{1,64}$/;

/** An allowlist entry of `http.allowHosts`: a host name or IPv4 address, or `*.` and a domain. */
const HOST_PATTERN = /^(\*\.)?[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]*[a-zA-Z0-9])?)*$/;

/**
 * What an agent remembers between runs. `none` (the default) gives it only the session's history;
 * `semantic` recalls the `topK` most relevant memories before each run (once memory-service exists).
 */
export const MemoryPolicySchema = z.discriminatedUnion('recall', [
  z.object({ recall: z.literal('none') }).strict(),
  z.object({ recall: z.literal('semantic'), topK: positiveInteger().max(100, 'expected at most 100').default(5) }).strict(),
]);
export type MemoryPolicy = z.infer<typeof MemoryPolicySchema>;

/** Where the name of a routing policy may come from: a file `routing/<name>.json` next to the agent files. */
export const ROUTING_POLICY_NAME_PATTERN = /^[a-z0-9][a-z0-9_-]{0,63}$/;

const temperature = z
  .number({ error: 'expected a number from 0 to 2' })
  .min(0, 'expected a number from 0 to 2')
  .max(2, 'expected a number from 0 to 2');

/** A fixed model: every call goes to `name` on the provider registered as `provider`. */
export interface FixedAgentModel {
  provider: string;
  name: string;
  /** Sent to the provider; unset leaves the provider's default (1 for OpenAI and Anthropic). 0 makes answers cacheable. */
  temperature?: number;
  routing?: undefined;
}

/** A routing policy: each call goes to a model the policy chooses (see @keelson/cost's Router). */
export interface RoutedAgentModel {
  routing: string;
  temperature?: number;
  provider?: undefined;
  name?: undefined;
}

export type AgentModel = FixedAgentModel | RoutedAgentModel;

/**
 * `{provider, name, temperature?}` or `{routing, temperature?}`, never both. One object with every key
 * optional, checked after, so an error names the field (`model.routing`) instead of a union's mismatch.
 */
export const AgentModelSchema = z
  .object({
    provider: z.string().min(1).optional(),
    name: z.string().min(1).optional(),
    routing: z.string().regex(ROUTING_POLICY_NAME_PATTERN, 'must be a routing policy name (a-z, 0-9, _ and -)').optional(),
    temperature: temperature.optional(),
  })
  .strict()
  .superRefine((m, ctx) => {
    if (m.routing !== undefined) {
      for (const key of ['provider', 'name'] as const) {
        if (m[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'a model names either a routing policy or a provider and name, not both' });
      }
      return;
    }
    for (const key of ['provider', 'name'] as const) {
      if (m[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'required (or name a routing policy in model.routing)' });
    }
  })
  .transform((m) => m as AgentModel);

export const AgentDefinitionSchema = z
  .object({
    id: z.string().regex(AGENT_ID_PATTERN, 'must be a lowercase agent id (a-z, 0-9, _ and -)'),
    version: z.string().min(1),
    description: z.string(),
    /** A fixed model (`provider` + `name`) or a routing policy by name (`routing`); see AgentModelSchema. */
    model: AgentModelSchema,
    systemPrompt: z.string(),
    /** Names of the tools the agent may call (offered to the model when the runtime registers them). */
    tools: z
      .array(z.string().regex(TOOL_NAME_PATTERN, 'must be a tool name (letters, digits, _ and -, at most 64)'))
      .refine((names) => new Set(names).size === names.length, 'lists a tool twice')
      .default([]),
    limits: z
      .object({
        maxOutputTokens: positiveInteger(),
        /** Model calls per run; a plain chat run is one step, each round of tool calls adds one. */
        maxSteps: positiveInteger(),
        timeoutMs: positiveInteger(),
      })
      .strict(),
    memory: MemoryPolicySchema.default({ recall: 'none' }),
    /**
     * What a session message does while another turn of the session runs: reject, enqueue (the default)
     * or interrupt. A message's `onBusy` overrides it.
     */
    concurrency: ConcurrencyPolicySchema.default('enqueue'),
    /**
     * Tools whose every call waits for a human: the run pauses with an approval id and resumes when it is
     * approved (the tool runs) or rejected (the model gets the rejection as the tool's error). A call still
     * undecided after `timeoutSeconds` counts as rejected. Only tasks can pause; elsewhere such a call is
     * answered as an error. None when absent.
     */
    approval: z
      .object({
        tools: z.array(z.string().regex(TOOL_NAME_PATTERN, 'must be a tool name (letters, digits, _ and -, at most 64)')).min(1),
        timeoutSeconds: positiveInteger().max(7 * 24 * 3600, 'expected at most 7 days').default(3600),
      })
      .strict()
      .optional(),
    /** Hosts the http_fetch tool may reach: exact hosts or `*.example.com` (subdomains); none when absent. */
    http: z
      .object({
        allowHosts: z.array(z.string().regex(HOST_PATTERN, 'must be a host name or *.domain, without scheme or port')),
      })
      .strict()
      .optional(),
  })
  // Strict, so a typo in an agent file (`systemPromt`) is an error rather than a silently ignored key.
  .strict();
/** A validated definition: every default filled in. */
export type AgentDefinition = z.infer<typeof AgentDefinitionSchema>;
/** What may be written (in code or an agent file): the fields with defaults may be left out. */
export type AgentDefinitionInput = z.input<typeof AgentDefinitionSchema>;

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
 * Validates an agent definition from anywhere: code or an agent file on disk. `source` names where it came
 * from (a file path, `builtin`), so the error reads `agents/assistant.yaml: limits.timeoutMs: expected a
 * positive integer`.
 */
export function parseAgentDefinition(raw: unknown, source = 'inline'): AgentDefinition {
  const result = AgentDefinitionSchema.safeParse(raw);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => ({
    field: issue.path.map(String).join('.') || '(definition)',
    message: issue.message,
  }));
  const list = problems.map((p) => `${p.field}: ${p.message}`).join('; ');
  throw new AgentDefinitionError(source, problems[0]!.field, `${source}: ${list}`);
}
