import { ErrorCodes, KeelsonError } from '@keelson/contracts';
import { priceCall } from '@keelson/cost';
import { metricsRegistry } from '@keelson/observability';
import type { ModelCallMetering } from '../run/metering';
import type { AgentDefinition } from './agent-definition';
import type { AgentRegistry } from './agent-registry';

/** Which version a run got, and why: the canary share, stable, or a tenant pin. */
export interface VersionChoice {
  version: string;
  arm: 'stable' | 'canary' | 'pinned';
  /** The rollout's generation: outcomes are counted per generation. */
  generation: string;
}

/**
 * What a runtime asks of the rollouts and kill switches (RolloutControl of @keelson/state fits): answered
 * from a snapshot kept in memory, so choosing costs no Redis round trip; recording a run's end costs one,
 * only for an agent under a rollout.
 */
export interface RolloutPort {
  /** The refusal (503 agent_disabled / tenant_suspended) when a kill switch is on for the tenant or the agent. */
  refusal(tenant: string, agentId: string): KeelsonError | undefined;
  /**
   * The version for this run under the agent's rollout; undefined without one (the default version serves).
   * `sticky`: the version the run's session already runs, kept while the rollout still serves it.
   */
  choose(agentId: string, tenant: string, runKey: string, sticky?: string): VersionChoice | undefined;
  /** Counts a finished run for the rollout's evaluator; never throws. */
  record(agentId: string, choice: VersionChoice, ok: boolean, costMicroUsd: number): Promise<void>;
}

export type AgentPick =
  | { kind: 'ok'; agent: AgentDefinition; choice?: VersionChoice }
  | { kind: 'missing' }
  | { kind: 'refused'; error: KeelsonError };

/**
 * The definition a run uses: refused when a kill switch is on; else the version the rollout chooses for
 * `runKey` (a session id, task id or invoke run id, so a session and a retried task keep theirs), the default
 * when there is no rollout or this replica has not loaded the chosen version (yet). `sticky` is the version a
 * session's earlier turns ran (see RolloutPort.choose).
 */
export function pickAgent(
  registry: Pick<AgentRegistry, 'get'> & Partial<Pick<AgentRegistry, 'getVersion'>>,
  rollouts: RolloutPort | undefined,
  tenant: string,
  agentId: string,
  runKey: string,
  sticky?: string,
): AgentPick {
  const refusal = rollouts?.refusal(tenant, agentId);
  if (refusal) {
    metricsRegistry().counter('killSwitchRefusals').inc({ code: refusal.code });
    return { kind: 'refused', error: refusal };
  }
  const fallback = registry.get(agentId);
  if (!fallback) return { kind: 'missing' };
  const choice = rollouts?.choose(agentId, tenant, runKey, sticky);
  if (!choice) return { kind: 'ok', agent: fallback };
  const chosen = registry.getVersion?.(agentId, choice.version);
  if (!chosen) return { kind: 'ok', agent: fallback };
  return { kind: 'ok', agent: chosen, choice };
}

/** The error a refused run ends with, as a run log and a task result carry it. */
export const refusalError = (error: KeelsonError) => ({ code: error.code, message: error.message });

/** Whether a code is a kill switch's (the run never started: not a failure of any version). */
export const isKillSwitchCode = (code: string): boolean => code === ErrorCodes.agentDisabled || code === ErrorCodes.tenantSuspended;

/**
 * Whether a run that ended with this error code says something about the version that ran: a budget or rate
 * refusal, a blocked input, a cancel or a kill switch does not (the same would happen on any version).
 */
export function countsAgainstVersion(code: string): boolean {
  return !(
    [ErrorCodes.budgetExceeded, ErrorCodes.rateLimited, ErrorCodes.inputBlocked, ErrorCodes.runCancelled, ErrorCodes.sessionBusy] as string[]
  ).includes(code) && !isKillSwitchCode(code);
}

/**
 * Wraps a run's metering to add up what its model calls cost (the usage records' price table), so the run's
 * end can be counted with its cost. Without metering (unit tests) it meters nothing and still adds up.
 */
export function tallyRunCost(metering: ModelCallMetering | undefined): { metering: ModelCallMetering; costMicroUsd(): number } {
  let total = 0;
  const wrapped: ModelCallMetering = {
    begin: async (call) => {
      const inner = metering ? await metering.begin(call) : undefined;
      if (inner && 'refused' in inner) return inner;
      return {
        onOutput: (text) => inner?.onOutput(text) ?? Promise.resolve(undefined),
        finish: async (end) => {
          if (end.usage) {
            total += priceCall(call.provider, call.request.model, {
              inputTokens: end.usage.inputTokens,
              outputTokens: end.usage.outputTokens,
              cachedInputTokens: end.usage.cachedInputTokens ?? 0,
            }).costMicroUsd;
          }
          await inner?.finish(end);
        },
      };
    },
  };
  return { metering: wrapped, costMicroUsd: () => total };
}

/**
 * A run's end: keelson_agent_runs_total by version (every run), and the rollout's counters (one Redis round
 * trip) when a rollout chose its version. Cancelled runs and kill-switch refusals are not counted.
 */
export async function recordAgentRun(
  rollouts: RolloutPort | undefined,
  agent: AgentDefinition,
  choice: VersionChoice | undefined,
  ok: boolean,
  costMicroUsd: number,
): Promise<void> {
  metricsRegistry()
    .counter('agentRuns')
    .inc({ agent: agent.id, agent_version: agent.version, arm: choice?.arm ?? 'default', outcome: ok ? 'completed' : 'failed' });
  if (rollouts && choice && choice.arm !== 'pinned') await rollouts.record(agent.id, choice, ok, costMicroUsd);
}
