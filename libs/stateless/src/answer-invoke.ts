import type { AuditSink } from '@keelson/audit';
import type { InlineGuard, RunGuard } from '@keelson/guard';
import { randomUUID } from 'node:crypto';
import {
  BudgetExceededError,
  ErrorCodes,
  InvokeRpcRequestSchema,
  KeelsonError,
  Subjects,
  parseOrThrow,
  type ChatMessage,
  type InvokeRpcReply,
  type InvokeRpcRequest,
} from '@keelson/contracts';
import type { AgentMemory } from '@keelson/memory';
import {
  RunError,
  RunLog,
  runAgent,
  runLogged,
  settleRunLog,
  type AgentDefinition,
  type AgentRegistry,
  type EventPublisher,
  type ModelCallMetering,
  type ProviderRegistry,
  type RoutingService,
  type UsageMeter,
} from '@keelson/runtime';
import { runWithTenant } from '@keelson/observability';

export const INVOKE_EVENT_SOURCE = '/keelson/session-agent';

export interface InvokeDeps {
  agents: Pick<AgentRegistry, 'get'>;
  providers: ProviderRegistry;
  /** Publishes the run log of a request that carries a `runId`; without it such requests are answered unlogged. */
  publisher?: EventPublisher;
  /** Where a request with a `cancelId` gets the signal its caller can abort; without it, it runs to the end. */
  cancellations?: { register(tenant: string, cancelId: string): { signal: AbortSignal; release(): void } };
  /** Budgets and usage records of every model call; unmetered when absent (unit tests). */
  metering?: Pick<UsageMeter, 'forRun'>;
  /** Model routing and the exact response cache; none when absent (unit tests). */
  routing?: Pick<RoutingService, 'forRun'>;
  /** Audit events of a streamed invoke's run steps (every invoke's model calls are audited by metering). */
  audit?: AuditSink;
  /** The tenant's guard, in process: input checks and the output filter; none when absent (unit tests). */
  guard?: Pick<InlineGuard, 'forRun'>;
  /** Recalls the `userId`'s memories before the run, as a session turn or a task does; none when absent. */
  memory?: Pick<AgentMemory, 'contextFor'>;
}

/**
 * The stateless path, framework-free: session-agent answers it over NATS request-reply for the gateway, and
 * apps/stateless-function runs it in process as a serverless function (docs/serverless.md).
 * The request carries the whole conversation, nothing is stored, the reply is the
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
  const cancel = request.cancelId === undefined ? undefined : deps.cancellations?.register(request.tenant, request.cancelId);
  try {
    return await runWithTenant(request.tenant, () => run(request, agent, deps, cancel?.signal));
  } finally {
    cancel?.release();
  }
}

/** Runs the invoke: logged on the run's subject when the caller streams it (`runId`), else just answered. */
async function run(request: InvokeRpcRequest, agent: AgentDefinition, deps: InvokeDeps, signal?: AbortSignal): Promise<InvokeRpcReply> {
  const metering = meteringOf(request, agent, deps);
  const guard = await deps.guard?.forRun(request.tenant, agent.id, request.runId ? { runId: request.runId } : {});
  const messages = await withMemories(request, agent, deps, guard);
  if (request.runId !== undefined && deps.publisher) return runStreamed({ ...request, runId: request.runId }, messages, agent, deps.publisher, deps, signal, metering, guard);
  try {
    const outcome = await runAgent({ agent, messages, providers: deps.providers, signal, metering, guard, tenant: request.tenant, ...routingOf(request, agent, deps) });
    return { ok: true, outcome };
  } catch (err) {
    if (!(err instanceof RunError)) throw err;
    return failureReply(err);
  }
}

/**
 * The call's messages after the memories of its `userId` that the agent's memory policy recalls (screened by
 * the guard like a tool result: memories are content the caller did not write just now).
 */
async function withMemories(request: InvokeRpcRequest, agent: AgentDefinition, deps: InvokeDeps, guard?: RunGuard): Promise<ChatMessage[]> {
  if (!deps.memory || request.userId === undefined) return request.messages;
  const query = [...request.messages].reverse().find((m) => m.role === 'user')?.content ?? '';
  const screen = guard && ((text: string) => guard.checkInput(text, 'memory').allowed);
  const remembered = await deps.memory.contextFor({ tenant: request.tenant, userId: request.userId }, agent, query, screen);
  return [...remembered, ...request.messages];
}

/** An invoke's calls are charged as one run: its stream's run id, else its cancel id, else a fresh id. */
function meteringOf(request: InvokeRpcRequest, agent: AgentDefinition, deps: InvokeDeps): ModelCallMetering | undefined {
  const runId = request.runId ?? request.cancelId ?? `inv_${randomUUID().replace(/-/g, '')}`;
  return deps.metering?.forRun({ tenant: request.tenant, agentId: agent.id, runId, ...(request.apiKeyId ? { apiKeyId: request.apiKeyId } : {}) });
}

/** An invoke has no session: a routed agent's calls stay on one model for the run only. */
function routingOf(request: InvokeRpcRequest, agent: AgentDefinition, deps: InvokeDeps) {
  return deps.routing?.forRun({ tenant: request.tenant, agentId: agent.id, ...(request.apiKeyId ? { apiKeyId: request.apiKeyId } : {}) });
}

/** A failed run as the reply: 402 with the budget for a budget refusal, else 502 agent_failed. */
function failureReply(err: RunError): InvokeRpcReply {
  if (err.code === 'budget_exceeded' && err.budget) return errorReply(new BudgetExceededError(err.budget, err.message));
  if (err.code === 'input_blocked') return errorReply(new KeelsonError(422, ErrorCodes.inputBlocked, err.message, 'messages'));
  return errorReply(new KeelsonError(502, ErrorCodes.agentFailed, err.message));
}

async function runStreamed(
  request: InvokeRpcRequest & { runId: string },
  messages: ChatMessage[],
  agent: AgentDefinition,
  publisher: EventPublisher,
  deps: InvokeDeps,
  signal?: AbortSignal,
  metering?: ModelCallMetering,
  guard?: RunGuard,
): Promise<InvokeRpcReply> {
  const log = new RunLog(publisher, {
    subject: Subjects.invokeRun(request.tenant, request.runId),
    tenant: request.tenant,
    runId: request.runId,
    attempt: 1,
    agentId: agent.id,
    source: INVOKE_EVENT_SOURCE,
    ...(deps.audit ? { audit: { sink: deps.audit, ...(request.apiKeyId ? { actor: { kind: 'api_key' as const, id: request.apiKeyId } } : {}) } } : {}),
  });
  let result: Awaited<ReturnType<typeof runLogged>>;
  try {
    result = await runLogged({ agent, messages, providers: deps.providers, log, interactive: true, signal, metering, guard, ...routingOf(request, agent, deps) });
  } catch (err) {
    if (!signal?.aborted) throw err;
    // The caller went away: end the log for anyone else reading it; the reply goes nowhere.
    const cancelled = new KeelsonError(409, ErrorCodes.runCancelled, 'the caller cancelled the invoke');
    await log.failed({ code: cancelled.code, message: cancelled.message });
    return errorReply(cancelled);
  }
  await settleRunLog(log, result);
  if (result.ok) return { ok: true, outcome: result.outcome };
  const { error } = result;
  if (error.code === ErrorCodes.budgetExceeded && error.budget) return errorReply(new BudgetExceededError(error.budget, error.message));
  if (error.code === ErrorCodes.inputBlocked) return errorReply(new KeelsonError(422, ErrorCodes.inputBlocked, error.message, 'messages'));
  return errorReply(new KeelsonError(502, ErrorCodes.agentFailed, error.message));
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
    ...(err instanceof BudgetExceededError ? { budget: err.budget } : {}),
  };
}
