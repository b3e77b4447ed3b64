import {
  ErrorCodes,
  InvokeRpcRequestSchema,
  KeelsonError,
  Subjects,
  parseOrThrow,
  type InvokeRpcReply,
  type InvokeRpcRequest,
} from '@keelson/contracts';
import {
  RunError,
  RunLog,
  runAgent,
  runLogged,
  settleRunLog,
  type AgentDefinition,
  type AgentRegistry,
  type EventPublisher,
  type ProviderRegistry,
} from '@keelson/runtime';
import { runWithTenant } from '@keelson/observability';

export const INVOKE_EVENT_SOURCE = '/keelson/session-agent';

export interface InvokeDeps {
  agents: Pick<AgentRegistry, 'get'>;
  providers: ProviderRegistry;
  /** Publishes the run log of a request that carries a `runId`; without it such requests are answered unlogged. */
  publisher?: EventPublisher;
}

/**
 * The stateless path: the request carries the whole conversation, nothing is stored, the reply is the
 * outcome. With a `runId` the run's events (started, coalesced deltas, completed / failed) are also
 * published on `Subjects.invokeRun`, all before the reply, so a caller can stream the answer. Every expected
 * failure is a reply in the HTTP error shape, so the gateway passes it on as is; only a bug or a run log
 * that cannot be written throws (serveRequests answers that with a 500).
 */
export async function answerInvoke(raw: unknown, deps: InvokeDeps): Promise<InvokeRpcReply> {
  let request: InvokeRpcRequest;
  try {
    request = parseOrThrow(InvokeRpcRequestSchema, raw);
  } catch (err) {
    if (err instanceof KeelsonError) return errorReply(err);
    throw err;
  }
  const registered = deps.agents.get(request.agentId);
  if (!registered) {
    return errorReply(new KeelsonError(404, ErrorCodes.agentNotFound, `no agent "${request.agentId}"`, 'agentId'));
  }
  const agent = withOutputCap(registered, request.maxOutputTokens);
  return runWithTenant(request.tenant, async () => {
    if (request.runId !== undefined && deps.publisher) {
      const log = new RunLog(deps.publisher, {
        subject: Subjects.invokeRun(request.tenant, request.runId),
        tenant: request.tenant,
        runId: request.runId,
        attempt: 1,
        agentId: agent.id,
        source: INVOKE_EVENT_SOURCE,
      });
      const result = await runLogged({ agent, messages: request.messages, providers: deps.providers, log, interactive: true });
      await settleRunLog(log, result);
      return result.ok ? { ok: true, outcome: result.outcome } : errorReply(new KeelsonError(502, ErrorCodes.agentFailed, result.error.message));
    }
    try {
      const outcome = await runAgent({ agent, messages: request.messages, providers: deps.providers });
      return { ok: true, outcome };
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      return errorReply(new KeelsonError(502, ErrorCodes.agentFailed, err.message));
    }
  });
}

/** The agent with its output limit lowered to the caller's cap; a cap above the agent's limit changes nothing. */
function withOutputCap(agent: AgentDefinition, cap: number | undefined): AgentDefinition {
  if (cap === undefined || cap >= agent.limits.maxOutputTokens) return agent;
  return { ...agent, limits: { ...agent.limits, maxOutputTokens: cap } };
}

function errorReply(err: KeelsonError): InvokeRpcReply {
  return {
    ok: false,
    status: err.status,
    code: err.code,
    message: err.message,
    ...(err.field !== undefined ? { field: err.field } : {}),
  };
}
