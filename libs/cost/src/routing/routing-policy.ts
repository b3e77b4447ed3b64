/** One model an agent's call may go to. */
export interface RoutingCandidate {
  provider: string;
  model: string;
}

/** A tier: the requests scoring at least `minScore` (and below the next tier's) go to its candidates, in order. */
export interface RoutingTier {
  name: string;
  minScore: number;
  candidates: RoutingCandidate[];
}

/**
 * A named routing policy an agent can use instead of a fixed model. Tiers are ordered cheapest first; the
 * first tier's minScore is 0.
 */
export interface RoutingPolicy {
  name: string;
  tiers: RoutingTier[];
  /** When the remaining budget (percent of the tightest cap) is below this, serve one tier lower. */
  downgradeWhenBudgetBelowPct?: number;
  /** Keep a session on the model it is pinned to (prompt-cache hits), as long as that model works. */
  stickySessions: boolean;
  /** How long a candidate may take to send its first output before the next one is tried; default: no limit. */
  candidateTimeoutMs?: number;
  /** Of the policy's file, for logs; policies in code may leave it out. */
  version?: string;
}

/** A problem of a policy with the field at fault (`tiers.1.minScore`), so a policy file's error can name it. */
export interface PolicyIssue {
  field: string;
  message: string;
}

/** The problems of a policy with their fields (empty when it is usable). */
export function policyIssues(policy: RoutingPolicy): PolicyIssue[] {
  const issues: PolicyIssue[] = [];
  if (policy.tiers.length === 0) issues.push({ field: 'tiers', message: 'a policy needs at least one tier' });
  if (policy.tiers[0] && policy.tiers[0].minScore !== 0) issues.push({ field: 'tiers.0.minScore', message: 'the first tier must have minScore 0' });
  policy.tiers.forEach((tier, i) => {
    if (tier.candidates.length === 0) issues.push({ field: `tiers.${i}.candidates`, message: `tier "${tier.name}" has no candidates` });
    if (i > 0 && tier.minScore <= policy.tiers[i - 1]!.minScore) {
      issues.push({ field: `tiers.${i}.minScore`, message: `tier "${tier.name}" must have a higher minScore than the tier before it` });
    }
  });
  const pct = policy.downgradeWhenBudgetBelowPct;
  if (pct !== undefined && !(pct >= 0 && pct <= 100)) issues.push({ field: 'downgradeWhenBudgetBelowPct', message: 'downgradeWhenBudgetBelowPct must be between 0 and 100' });
  return issues;
}

/** Returns the problems of a policy (empty when it is usable), so a bad agent file is refused at load time. */
export function policyProblems(policy: RoutingPolicy): string[] {
  return policyIssues(policy).map((issue) => issue.message);
}

export const sameCandidate = (a: RoutingCandidate, b: RoutingCandidate) => a.provider === b.provider && a.model === b.model;

/**
 * An example policy over the priced models: mini models for simple requests, the standard models for
 * moderate ones, a reasoning model for complex ones (scores as in COMPLEXITY_THRESHOLDS).
 */
export const EXAMPLE_POLICY: RoutingPolicy = {
  name: 'balanced',
  stickySessions: true,
  downgradeWhenBudgetBelowPct: 20,
  tiers: [
    { name: 'small', minScore: 0, candidates: [{ provider: 'openai', model: 'gpt-4o-mini' }, { provider: 'anthropic', model: 'claude-3-5-haiku-latest' }] },
    { name: 'standard', minScore: 15, candidates: [{ provider: 'openai', model: 'gpt-4.1' }, { provider: 'anthropic', model: 'claude-sonnet-4-20250514' }] },
    { name: 'reasoning', minScore: 40, candidates: [{ provider: 'openai', model: 'o3' }, { provider: 'anthropic', model: 'claude-opus-4-1-20250805' }] },
  ],
};
