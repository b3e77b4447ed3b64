import {
  GuardInputRpcRequestSchema,
  GuardPolicyInputSchema,
  GuardOutputRpcRequestSchema,
  GuardPolicyRpcRequestSchema,
  parseOrThrow,
  type GuardDecision,
  type GuardInputRpcReply,
  type GuardOutputRpcReply,
  type GuardPolicyRpcReply,
} from '@keelson/contracts';
import { Guard, decisionOf, resolvePolicy } from '@keelson/guard';
import type { PolicyStore } from './policy-store';

export interface GuardHandlers {
  input(req: unknown): Promise<GuardInputRpcReply>;
  output(req: unknown): Promise<GuardOutputRpcReply>;
  policy(req: unknown): Promise<GuardPolicyRpcReply>;
}

/**
 * The guard RPCs without NestJS: validate (400 naming the field), load the tenant's policy, run the guard.
 * Each call's decision goes to `onDecision`; a policy change is a decision of type `policy` too.
 */
export function guardHandlers(deps: { guard: Guard; policies: PolicyStore; onDecision: (d: GuardDecision) => void }): GuardHandlers {
  return {
    async input(raw) {
      const req = parseOrThrow(GuardInputRpcRequestSchema, raw);
      const policy = resolvePolicy(await deps.policies.get(req.tenant), req.agentId);
      const r = await deps.guard.checkInput(req.text, { tenant: req.tenant, policy, source: req.source, agentId: req.agentId });
      return { ok: true, ...r };
    },
    async output(raw) {
      const req = parseOrThrow(GuardOutputRpcRequestSchema, raw);
      const policy = resolvePolicy(await deps.policies.get(req.tenant), req.agentId);
      const r = await deps.guard.filterOutput(req.text, { tenant: req.tenant, policy, agentId: req.agentId });
      return { ok: true, ...r };
    },
    async policy(raw) {
      const req = parseOrThrow(GuardPolicyRpcRequestSchema, raw);
      if (req.policy === undefined) return { ok: true, policy: await deps.policies.get(req.tenant) };
      const policy = parseOrThrow(GuardPolicyInputSchema, req.policy, 'policy');
      const stored = await deps.policies.put(req.tenant, policy, req.expectedVersion);
      deps.onDecision(decisionOf('policy', req.tenant, 'update', [], { reasons: [`version ${stored.version}`], policyVersion: stored.version }));
      return { ok: true, policy: stored };
    },
  };
}
