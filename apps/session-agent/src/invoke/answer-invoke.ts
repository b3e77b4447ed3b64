import {
  ErrorCodes,
  InvokeRpcRequestSchema,
  KeelsonError,
  parseOrThrow,
  type InvokeRpcReply,
  type InvokeRpcRequest,
} from '@keelson/contracts';
import { RunError, runAgent, type AgentRegistry, type ProviderRegistry } from '@keelson/runtime';
import { runWithTenant } from '@keelson/observability';

export interface InvokeDeps {
  agents: Pick<AgentRegistry, 'get'>;
  providers: ProviderRegistry;
}

/**
 * The stateless path: the request carries the whole conversation, nothing is stored, the reply is the
 * outcome. Every expected failure is a reply in the HTTP error shape, so the gateway passes it on as is;
 * only a bug throws (serveRequests answers that with a 500).
 */
export async function answerInvoke(raw: unknown, deps: InvokeDeps): Promise<InvokeRpcReply> {
  let request: InvokeRpcRequest;
  try {
    request = parseOrThrow(InvokeRpcRequestSchema, raw);
  } catch (err) {
    if (err instanceof KeelsonError) return errorReply(err);
    throw err;
  }
  const agent = deps.agents.get(request.agentId);
  if (!agent) {
    return errorReply(new KeelsonError(404, ErrorCodes.agentNotFound, `no agent "${request.agentId}"`, 'agentId'));
  }
  return runWithTenant(request.tenant, async () => {
    try {
      const outcome = await runAgent({ agent, messages: request.messages, providers: deps.providers });
      return { ok: true, outcome };
    } catch (err) {
      if (!(err instanceof RunError)) throw err;
      return errorReply(new KeelsonError(502, ErrorCodes.agentFailed, err.message));
    }
  });
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
