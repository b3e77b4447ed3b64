import {
  GuardInputRpcRequestSchema,
  GuardPolicyInputSchema,
  GuardOutputRpcRequestSchema,
  GuardPolicyRpcRequestSchema,
  GuardRevealRpcRequestSchema,
  GuardErrorCodes,
  KeelsonError,
  parseOrThrow,
  type GuardDecision,
  type GuardInputRpcReply,
  type GuardOutputRpcReply,
  type GuardPolicyRpcReply,
  type GuardRevealRpcReply,
  type ErrorCode,
} from '@keelson/contracts';
import { Guard, decisionOf, resolvePolicy, type Pseudonymizer } from '@keelson/guard';
import type { PolicyStore } from './policy-store';

export interface GuardHandlers {
  input(req: unknown): Promise<GuardInputRpcReply>;
  output(req: unknown): Promise<GuardOutputRpcReply>;
  policy(req: unknown): Promise<GuardPolicyRpcReply>;
  reveal(req: unknown): Promise<GuardRevealRpcReply>;
}

/**
 * The guard RPCs without NestJS: validate (400 naming the field), load the tenant's policy, run the guard.
 * Each call's decision goes to `onDecision`; a policy change is a decision of type `policy` too.
 */
export function guardHandlers(deps: {
  guard: Guard;
  policies: PolicyStore;
  onDecision: (d: GuardDecision) => void;
  /** Without it (no GUARD_PSEUDONYM_KEY_FILE) there are no pseudonyms, and reveal answers 409. */
  pseudonymizer?: Pseudonymizer;
}): GuardHandlers {
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
    async reveal(raw) {
      const req = parseOrThrow(GuardRevealRpcRequestSchema, raw);
      if (!deps.pseudonymizer) throw new KeelsonError(409, GuardErrorCodes.pseudonymsOff as ErrorCode, 'this deployment keeps no pseudonyms (GUARD_PSEUDONYM_KEY_FILE is not set)');
      const r = await deps.pseudonymizer.revealDetailed(req.tenant, req.text);
      return { ok: true, ...r };
    },
  };
}
