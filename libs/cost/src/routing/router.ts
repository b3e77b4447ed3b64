import type { CostRequest } from '../request';
import { classifyComplexity, type Complexity } from './classify-complexity';
import { sameCandidate, type RoutingCandidate, type RoutingPolicy } from './routing-policy';

export interface RouteInput {
  policy: RoutingPolicy;
  request: Pick<CostRequest, 'messages' | 'tools'>;
  /** The model this session is pinned to (SessionPins.get), if any. */
  sessionPin?: RoutingCandidate;
  /** Percent left of the tightest budget that applies (0-100); undefined when no budget applies. */
  remainingBudgetPct?: number;
}

/** Why the router chose what it chose: published as an event and counted by reason. */
export interface RoutingDecision {
  policy: string;
  tier: string;
  tierIndex: number;
  score: number;
  level: Complexity['level'];
  reasons: string[];
  /** The session's pinned model goes first. */
  pinned: boolean;
  /** Served one tier lower than the score asked for, because the budget is low. */
  downgraded: boolean;
}

export interface Route {
  /** Try in this order (see `fallback`): the tier's candidates, then cheaper tiers, then dearer ones. */
  candidates: RoutingCandidate[];
  decision: RoutingDecision;
}

/**
 * Chooses the models for one call under a routing policy: the tier by complexity score, one tier lower when
 * the budget is low (if the policy says so), and the session's pinned model first unless the request now needs
 * a higher tier than the pin's or the budget forbids the pin's tier. Pure and synchronous: the pin and the budget are looked up by the caller.
 */
export class Router {
  constructor(private readonly classify: (request: RouteInput['request']) => Complexity = classifyComplexity) {}

  choose(input: RouteInput): Route {
    const { policy } = input;
    const complexity = this.classify(input.request);
    const reasons = [...complexity.reasons];
    let tierIndex = 0;
    policy.tiers.forEach((tier, i) => {
      if (complexity.score >= tier.minScore) tierIndex = i;
    });

    const threshold = policy.downgradeWhenBudgetBelowPct;
    const downgraded = threshold !== undefined && input.remainingBudgetPct !== undefined && input.remainingBudgetPct < threshold && tierIndex > 0;
    if (downgraded) {
      tierIndex -= 1;
      reasons.push(`budget_low:${Math.floor(input.remainingBudgetPct!)}pct`);
    }

    const ordered = orderByTier(policy, tierIndex);
    let pinned = false;
    const pin = input.sessionPin;
    if (pin && policy.stickySessions) {
      const pinTier = policy.tiers.findIndex((t) => t.candidates.some((c) => sameCandidate(c, pin)));
      if (pinTier === -1) reasons.push('pin_ignored:not_in_policy');
      else if (pinTier < tierIndex) reasons.push('pin_ignored:needs_higher_tier');
      else if (downgraded && pinTier > tierIndex) reasons.push('pin_ignored:budget_low');
      else {
        pinned = true;
        reasons.push('session_pinned');
        ordered.splice(ordered.findIndex((c) => sameCandidate(c, pin)), 1);
        ordered.unshift(pin);
      }
    }
    const tier = policy.tiers[tierIndex]!;
    return {
      candidates: ordered,
      decision: { policy: policy.name, tier: tier.name, tierIndex, score: complexity.score, level: complexity.level, reasons, pinned, downgraded },
    };
  }
}

/** The chosen tier's candidates, then the cheaper tiers nearest first, then the dearer ones nearest first; no repeats. */
function orderByTier(policy: RoutingPolicy, chosen: number): RoutingCandidate[] {
  const order = [chosen];
  for (let i = chosen - 1; i >= 0; i--) order.push(i);
  for (let i = chosen + 1; i < policy.tiers.length; i++) order.push(i);
  const out: RoutingCandidate[] = [];
  for (const i of order) for (const c of policy.tiers[i]!.candidates) if (!out.some((o) => sameCandidate(o, c))) out.push(c);
  return out;
}
