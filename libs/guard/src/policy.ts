import {
  GuardPolicyInputSchema,
  InputPolicySchema,
  OutputPolicySchema,
  type EntityType,
  type GuardAction,
  type GuardPolicy,
  type InjectionCategory,
  type InputPolicy,
  type OutputPolicy,
} from '@keelson/contracts';

/**
 * Policies: one per tenant (versioned, stored by guard-service), with optional per-agent overrides. An
 * unset tenant gets DEFAULT_POLICY (version 0). Defaults, documented in docs/guard.md:
 * - input: every source checked; score >= 0.5 blocks, [0.3, 0.5) is uncertain (stage 2 when enabled,
 *   otherwise allowed and flagged); stage 2 off, 400 ms timeout;
 * - output: placeholder redaction of every entity type; nothing blocked; no allowed values.
 */
export interface EffectivePolicy {
  version: number;
  input: InputPolicy;
  output: OutputPolicy;
}

export const DEFAULT_POLICY: GuardPolicy = { ...GuardPolicyInputSchema.parse({}), version: 0, updatedAt: new Date(0).toISOString() };

/** Validates a policy written by a caller (throws a ZodError naming the field). */
export const parsePolicy = (input: unknown) => GuardPolicyInputSchema.parse(input);

/** The tenant's policy with the agent's override applied (each field of the override replaces the tenant's). */
export function resolvePolicy(policy: GuardPolicy | undefined, agentId?: string): EffectivePolicy {
  const p = policy ?? DEFAULT_POLICY;
  const o = agentId ? p.agents[agentId] : undefined;
  if (!o) return { version: p.version, input: p.input, output: p.output };
  return {
    version: p.version,
    input: InputPolicySchema.parse({ ...p.input, ...o.input }),
    output: OutputPolicySchema.parse({
      ...p.output,
      ...o.output,
      actions: { ...p.output.actions, ...o.output?.actions },
    }),
  };
}

export const outputAction = (policy: OutputPolicy, type: EntityType): GuardAction => policy.actions[type] ?? 'redact';

export const inputAction = (policy: InputPolicy, category: InjectionCategory): 'block' | 'flag' | 'off' => policy.actions[category] ?? 'block';

export const DEFAULT_EFFECTIVE_POLICY: EffectivePolicy = resolvePolicy(undefined);
