import type { FinishReason, RunRouted, Usage } from '@keelson/contracts';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ModelRequest } from '../model/provider';

/** One model a call may go to: a provider of the ProviderRegistry and the model name sent to it. */
export interface ModelCandidate {
  provider: string;
  model: string;
}

/** What a routing policy chose for one model call (see @keelson/cost's Router). */
export interface RoutingPlan {
  /** Try in this order; the next one only when the previous failed before any output. */
  candidates: ModelCandidate[];
  policy: string;
  tier: string;
  score: number;
  reasons: string[];
  pinned: boolean;
  downgraded: boolean;
  /** Longest a candidate may take to its first output before the next one is tried; none when absent. */
  candidateTimeoutMs?: number;
}

/**
 * Chooses the model of each call of an agent whose `model` names a routing policy. The agent loop asks once
 * per model call, tries the candidates in order, and says which one answered. The service side (request
 * complexity, session pins in Redis, budget downgrades) is RoutingService; a test can script its own.
 */
export interface ModelRouting {
  choose(call: { agent: AgentDefinition; request: ModelRequest; callIndex: number }): Promise<RoutingPlan>;
  /**
   * The candidate whose output began (after any fallbacks): the session is pinned to it. Not awaited by the
   * loop and must not throw (a pin that could not be written is the implementation's to log).
   */
  answered(candidate: ModelCandidate, plan: RoutingPlan): Promise<void>;
}

/** A routing decision as the run log carries it (run.routed), without the run's ids. */
export type RoutedCall = Omit<RunRouted, 'runId' | 'attempt'>;

/** A stored answer of an identical deterministic request. */
export interface CachedAnswer {
  text: string;
  finishReason: FinishReason;
}

/** Who asks and exactly what: an exact cache keys on all of it (agent id and version, provider, request). */
export interface CacheCall {
  agent: AgentDefinition;
  provider: string;
  request: ModelRequest;
}

/**
 * The exact response cache as the agent loop uses it. The loop only asks for requests with temperature 0
 * (set in the agent's model), and stores only plain answers that finished with `stop` (no tool calls).
 * Scoped to the run's tenant by the implementation (ResponseCacheAdapter). Neither method may throw
 * for a cache that is down: a miss, or nothing stored.
 */
export interface ModelResponseCache {
  get(call: CacheCall): Promise<CachedAnswer | undefined>;
  put(call: CacheCall, answer: CachedAnswer & { usage: Usage }): Promise<void>;
}
