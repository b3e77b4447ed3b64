import {
  Router,
  remainingBudgetPct,
  scopesFor,
  type BudgetLedger,
  type CostRequest,
  type ResponseCache,
  type RoutingCandidate,
  type RoutingPolicy,
  type RoutingTally,
  type SessionPins,
} from '@keelson/cost';
import { metricsRegistry } from '@keelson/observability';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ModelRequest } from '../model/provider';
import type { CacheCall, ModelResponseCache, ModelRouting, RoutingPlan } from '../run/model-routing';

export interface RoutingServiceDeps {
  /** The routing policies by name (AgentRegistry and AgentFileRegistry have them). */
  policies: { policy(name: string): RoutingPolicy | undefined };
  /** Session pins in Redis, shared by every replica. */
  pins: Pick<SessionPins, 'get' | 'pin'>;
  /** For budget downgrades: the budgets that apply, read once per run. */
  ledger: Pick<BudgetLedger, 'status'>;
  /** Counts each decision by tier and reason for operators (GET /v1/usage); absent, nothing is counted. */
  tally?: Pick<RoutingTally, 'count'>;
  /** The exact response cache; absent, nothing is cached. */
  cache?: Pick<ResponseCache, 'get' | 'put'>;
  logger: { warn(message: string, meta?: Record<string, unknown>): void };
  router?: Router;
}

/** Who a run is for: the pin is per tenant and session, the budgets per tenant, agent and key, the cache per tenant. */
export interface RoutingAccount {
  tenant: string;
  agentId?: string;
  apiKeyId?: string;
  /** A session's runs share its pin (SessionPins); a run without one (invoke, task) keeps its own in memory. */
  sessionId?: string;
}

/** What a run passes to runAgent / runLogged: spread it into their options. */
export interface RunModelOptions {
  routing: ModelRouting;
  cache?: ModelResponseCache;
}

/**
 * The service side of routing and the exact cache, over @keelson/cost: Router chooses the tier by the
 * request's complexity; the session's pin comes from Redis (so every replica keeps a session on one model,
 * and a fallback re-pins it); the remaining budget (the tightest of tenant, agent and key, read once per run)
 * lets the policy downgrade a tier; ResponseCache answers temperature-0 requests per tenant.
 */
export class RoutingService {
  private readonly router: Router;

  constructor(private readonly deps: RoutingServiceDeps) {
    this.router = deps.router ?? new Router();
  }

  forRun(account: RoutingAccount): RunModelOptions {
    return { routing: this.routing(account), ...(this.deps.cache ? { cache: this.cacheFor(account.tenant, this.deps.cache) } : {}) };
  }

  private routing(account: RoutingAccount): ModelRouting {
    const { deps, router } = this;
    let runPin: RoutingCandidate | undefined;
    let budgetPct: Promise<number | undefined> | undefined;
    const remaining = () =>
      (budgetPct ??= deps.ledger.status(account.tenant, scopesFor(account)).then(remainingBudgetPct, (err: unknown) => {
        deps.logger.warn('could not read the budgets for routing; no downgrade', { tenant: account.tenant, error: String(err) });
        return undefined;
      }));
    const pinned = async (policy: RoutingPolicy): Promise<RoutingCandidate | undefined> => {
      if (!policy.stickySessions) return undefined;
      if (!account.sessionId) return runPin;
      try {
        return (await deps.pins.get(account.tenant, account.sessionId)) ?? runPin;
      } catch (err) {
        deps.logger.warn('could not read a session pin; routing without it', { tenant: account.tenant, sessionId: account.sessionId, error: String(err) });
        return runPin;
      }
    };
    return {
      choose: async ({ agent, request }): Promise<RoutingPlan> => {
        const name = agent.model.routing;
        const policy = name === undefined ? undefined : deps.policies.policy(name);
        if (!policy) throw new Error(`no routing policy "${name}"`);
        const [sessionPin, pct] = await Promise.all([pinned(policy), policy.downgradeWhenBudgetBelowPct === undefined ? undefined : remaining()]);
        const route = router.choose({
          policy,
          request: { messages: request.messages, ...(request.tools ? { tools: request.tools } : {}) },
          ...(sessionPin ? { sessionPin } : {}),
          ...(pct !== undefined ? { remainingBudgetPct: pct } : {}),
        });
        const { decision } = route;
        // Counted on the side: a counter that cannot be written must not hold up or fail the call.
        deps.tally?.count(account.tenant, decision).catch((err: unknown) => deps.logger.warn('could not count a routing decision', { error: String(err) }));
        metricsRegistry()
          .counter('routingDecisions')
          .inc({ tenant: account.tenant, policy: decision.policy, tier: decision.tier, downgraded: decision.downgraded });
        return {
          candidates: route.candidates,
          policy: decision.policy,
          tier: decision.tier,
          score: decision.score,
          reasons: decision.reasons,
          pinned: decision.pinned,
          downgraded: decision.downgraded,
          ...(policy.candidateTimeoutMs !== undefined ? { candidateTimeoutMs: policy.candidateTimeoutMs } : {}),
        };
      },
      answered: async (candidate) => {
        runPin = { provider: candidate.provider, model: candidate.model };
        if (!account.sessionId) return;
        try {
          await deps.pins.pin(account.tenant, account.sessionId, runPin);
        } catch (err) {
          deps.logger.warn('could not pin a session to its model', { tenant: account.tenant, sessionId: account.sessionId, error: String(err) });
        }
      },
    };
  }

  private cacheFor(tenant: string, cache: Pick<ResponseCache, 'get' | 'put'>): ModelResponseCache {
    const { logger } = this.deps;
    const scope = (agent: AgentDefinition) => ({ tenant, agentId: agent.id, agentVersion: agent.version });
    return {
      get: async (call) => {
        try {
          const hit = await cache.get(scope(call.agent), costRequest(call));
          return hit ? { text: hit.output, finishReason: 'stop' } : undefined;
        } catch (err) {
          logger.warn('response cache unavailable; calling the model', { tenant, error: String(err) });
          return undefined;
        }
      },
      put: async (call, answer) => {
        try {
          await cache.put(scope(call.agent), costRequest(call), { output: answer.text, finishReason: answer.finishReason, model: call.request.model, usage: answer.usage });
        } catch (err) {
          logger.warn('could not store an answer in the response cache', { tenant, error: String(err) });
        }
      },
    };
  }
}

/** The request as @keelson/cost keys it: provider, model, output cap, messages, tools, temperature. */
function costRequest(call: CacheCall): CostRequest {
  const request: ModelRequest = call.request;
  return {
    provider: call.provider,
    model: request.model,
    messages: request.messages,
    ...(request.tools ? { tools: request.tools } : {}),
    ...(request.maxOutputTokens !== undefined ? { maxOutputTokens: request.maxOutputTokens } : {}),
    ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
  };
}
