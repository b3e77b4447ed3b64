import { z } from 'zod';
import { EXAMPLE_POLICY, policyIssues, type RoutingPolicy } from '@keelson/cost';
import { AgentDefinitionError, ROUTING_POLICY_NAME_PATTERN } from './agent-definition';

/** The folder of routing policy files inside an agent directory: `<AGENTS_DIR>/routing/<name>.json`. */
export const ROUTING_DIR = 'routing';

/** Policies every registry has unless a file of the same name replaces them: `balanced` (EXAMPLE_POLICY). */
export function builtinRoutingPolicies(): Map<string, RoutingPolicy> {
  return new Map([[EXAMPLE_POLICY.name, EXAMPLE_POLICY]]);
}

const nonNegativeInteger = (what: string) => z.number({ error: `expected ${what}` }).int(`expected ${what}`).min(0, `expected ${what}`);

const CandidateSchema = z.object({ provider: z.string().min(1), model: z.string().min(1) }).strict();

/**
 * A routing policy file. Structure only; the rules between fields (first tier at 0, rising minScores, a
 * candidate in every tier) are @keelson/cost's `policyIssues`, checked after.
 */
export const RoutingPolicyFileSchema = z
  .object({
    name: z.string().regex(ROUTING_POLICY_NAME_PATTERN, 'must be a routing policy name (a-z, 0-9, _ and -)'),
    version: z.string().min(1),
    description: z.string().optional(),
    /** Cheapest first; a request goes to the highest tier whose minScore its complexity score reaches. */
    tiers: z.array(
      z
        .object({
          name: z.string().min(1),
          minScore: nonNegativeInteger('a whole number from 0 to 100').max(100, 'expected a whole number from 0 to 100'),
          candidates: z.array(CandidateSchema),
        })
        .strict(),
    ),
    downgradeWhenBudgetBelowPct: z.number().optional(),
    stickySessions: z.boolean().default(true),
    candidateTimeoutMs: z.number().int('expected a positive whole number of ms').positive('expected a positive whole number of ms').optional(),
  })
  .strict();

/**
 * Validates a routing policy from a file (or anywhere): the schema, then the policy's own rules. Throws
 * AgentDefinitionError naming the source and the first bad field: `routing/fast.json: tiers.1.minScore: ...`.
 * `expectedName` (the file's base name) must match the policy's `name`.
 */
export function parseRoutingPolicy(raw: unknown, source = 'inline', expectedName?: string): RoutingPolicy {
  const result = RoutingPolicyFileSchema.safeParse(raw);
  if (!result.success) {
    const problems = result.error.issues.map((issue) => ({ field: issue.path.map(String).join('.') || '(policy)', message: issue.message }));
    throw new AgentDefinitionError(source, problems[0]!.field, `${source}: ${problems.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  const { description: _description, ...policy } = result.data;
  const issues = policyIssues(policy);
  if (expectedName !== undefined && policy.name !== expectedName) {
    issues.unshift({ field: 'name', message: `must be "${expectedName}", the file's name` });
  }
  if (issues.length > 0) {
    throw new AgentDefinitionError(source, issues[0]!.field, `${source}: ${issues.map((p) => `${p.field}: ${p.message}`).join('; ')}`);
  }
  return policy;
}
