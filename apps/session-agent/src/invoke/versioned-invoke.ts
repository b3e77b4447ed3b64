import { InvokeRpcRequestSchema, type InvokeRpcReply } from '@keelson/contracts';
import { countsAgainstVersion, pickAgent, recordAgentRun, tallyRunCost, type RolloutPort } from '@keelson/runtime';
import { answerInvoke, type InvokeDeps } from './answer-invoke';

/**
 * answerInvoke under the platform's kill switches and rollouts (docs/rollouts.md), without touching the
 * shared stateless path: a refused request is answered 503 before anything runs; otherwise the version the
 * rollout chooses for the request's run id (or cancel id) is the only agent the run can see, its model calls
 * are added up, and its end is counted for that version.
 */
export async function answerInvokeVersioned(raw: unknown, deps: InvokeDeps & { agents: InvokeDeps['agents'] & { getVersion?(id: string, version: string): ReturnType<InvokeDeps['agents']['get']> } }, rollouts: RolloutPort | undefined): Promise<InvokeRpcReply> {
  const parsed = InvokeRpcRequestSchema.safeParse(raw);
  if (!rollouts || !parsed.success) return answerInvoke(raw, deps);
  const request = parsed.data;
  const runKey = request.runId ?? request.cancelId ?? `${Date.now()}:${Math.random()}`;
  const pick = pickAgent(deps.agents, rollouts, request.tenant, request.agentId, runKey);
  if (pick.kind === 'refused') return { ok: false, status: pick.error.status, code: pick.error.code, message: pick.error.message, ...(pick.error.field ? { field: pick.error.field } : {}) };
  if (pick.kind === 'missing') return answerInvoke(raw, deps);
  const { agent, choice } = pick;
  let tally: ReturnType<typeof tallyRunCost> | undefined;
  const reply = await answerInvoke(raw, {
    ...deps,
    agents: { get: (id) => (id === agent.id ? agent : deps.agents.get(id)) },
    metering: {
      forRun: (account) => {
        tally = tallyRunCost(deps.metering?.forRun(account));
        return tally.metering;
      },
    },
  });
  const ok = reply.ok !== false;
  if (ok || countsAgainstVersion((reply as { code: string }).code)) await recordAgentRun(rollouts, agent, choice, ok, tally?.costMicroUsd() ?? 0);
  return reply;
}
