import { randomUUID } from 'node:crypto';
import {
  BudgetExceededError,
  ErrorCodes,
  InvokeRequestSchema,
  KeelsonError,
  Scopes,
  hasScope,
  parseOrThrow,
  type ErrorCode,
  type InvokeRpcRequest,
} from '@keelson/contracts';
import { AuthError, type Authenticator, type Principal } from '@keelson/identity';
import { answerInvoke, type InvokeDeps } from '@keelson/stateless';
import { errorResponse, header, jsonResponse, parseJsonBody, type FunctionRequest, type FunctionResponse } from './http';
import type { FunctionLogger } from './logger';
import type { RateLimitCheck } from './rate-limits';

/** `POST /v1/agents/{agentId}/invoke`, after an optional stage prefix (`/prod/v1/...` from API Gateway). */
const INVOKE_ROUTE = /(?:^|\/)v1\/agents\/([^/]+)\/invoke$/;

export interface FunctionDeps {
  authenticator: Pick<Authenticator, 'authenticate'>;
  /** What answers the invoke: the same framework-free path session-agent serves over NATS. */
  invoke: Omit<InvokeDeps, 'cancellations' | 'publisher'>;
  /** Requests per minute (Redis); absent: no rate limits. */
  rateLimits?: RateLimitCheck;
  logger: FunctionLogger;
  limits: { bodyLimitBytes: number; maxJsonDepth: number; invokeTimeoutMs: number };
}

export type InvokeHandler = (request: FunctionRequest) => Promise<FunctionResponse>;

/**
 * The stateless invoke as a function: the gateway's route, checks and answers, with the agent run in this
 * process instead of over NATS. Same order of refusals as the gateway: body (413, 415, 400 invalid JSON),
 * credentials (401, 403), rate limit (429 + Retry-After), agent (404), request (400 naming the field), then
 * the run's own answers (402 budget, 422 input blocked, 502 agent failed, 504 timeout). Never throws.
 */
export function createInvokeHandler(deps: FunctionDeps): InvokeHandler {
  return async (request) => {
    const started = performance.now();
    let response: FunctionResponse;
    let who: { tenant?: string; agentId?: string } = {};
    try {
      response = await handle(request, deps, (w) => (who = { ...who, ...w }));
    } catch (err) {
      if (!(err instanceof KeelsonError) && !(err instanceof RetryLater)) deps.logger.error('invoke failed', { requestId: request.requestId, error: (err as Error).stack ?? String(err) });
      const headers: Record<string, string> = err instanceof RetryLater ? { 'retry-after': String(err.retryAfterSeconds) } : {};
      response = errorResponse(err instanceof RetryLater ? err.error : err, request.requestId, headers);
    }
    if (request.requestId) response.headers['x-request-id'] = request.requestId;
    deps.logger.info('request', { ...who, requestId: request.requestId, method: request.method, status: response.status, ms: Math.round(performance.now() - started) });
    return response;
  };
}

/** A refusal that carries a Retry-After (429). */
export class RetryLater extends Error {
  constructor(
    readonly error: KeelsonError,
    readonly retryAfterSeconds: number,
  ) {
    super(error.message);
  }
}

async function handle(request: FunctionRequest, deps: FunctionDeps, note: (w: { tenant?: string; agentId?: string }) => void): Promise<FunctionResponse> {
  const route = INVOKE_ROUTE.exec(request.path);
  if (!route || request.method.toUpperCase() !== 'POST') throw new KeelsonError(404, ErrorCodes.notFound, 'no such route');
  let agentId: string;
  try {
    agentId = decodeURIComponent(route[1]!);
  } catch {
    throw new KeelsonError(400, ErrorCodes.invalidUrl, 'the path is not valid percent-encoding');
  }
  const body = parseJsonBody(request, deps.limits.bodyLimitBytes, deps.limits.maxJsonDepth);
  const principal = await authenticate(request, deps);
  note({ tenant: principal.tenant, agentId });
  if (deps.rateLimits) await deps.rateLimits.check(principal);
  if (!deps.invoke.agents.get(agentId)) throw new KeelsonError(404, ErrorCodes.agentNotFound, `no agent "${agentId}"`, 'agentId');
  const input = parseOrThrow(InvokeRequestSchema, body);
  const rpc: InvokeRpcRequest = {
    tenant: principal.tenant,
    agentId,
    messages: input.messages ?? [{ role: 'user', content: input.input! }],
    cancelId: `cnl_${randomUUID().replace(/-/g, '')}`,
    apiKeyId: principal.keyId,
    ...(input.userId ? { userId: input.userId } : {}),
  };
  return jsonResponse(200, await runWithin(rpc, deps));
}

/** The gateway's AuthGuard: 401 naming `Authorization`, 403 naming the scope; each refusal logged with its reason. */
async function authenticate(request: FunctionRequest, deps: FunctionDeps): Promise<Principal> {
  let principal: Principal;
  try {
    principal = await deps.authenticator.authenticate(header(request.headers, 'authorization'));
  } catch (err) {
    if (!(err instanceof AuthError)) throw err;
    deps.logger.warn('auth denied', { requestId: request.requestId, reason: err.reason, tenant: err.known.tenant, keyId: err.known.keyId });
    throw new KeelsonError(401, ErrorCodes.unauthorized, err.message, 'Authorization');
  }
  if (!hasScope(principal.scopes, Scopes.invoke)) {
    deps.logger.warn('auth denied', { requestId: request.requestId, reason: 'missing_scope', tenant: principal.tenant, keyId: principal.keyId, scope: Scopes.invoke });
    const message = `this ${principal.kind === 'jwt' ? 'token' : 'API key'} lacks the scope "${Scopes.invoke}"`;
    throw new KeelsonError(403, ErrorCodes.forbidden, message, Scopes.invoke);
  }
  return principal;
}

/** answerInvoke under the invoke timeout: past it the run is aborted and the answer is 504, as the gateway's. */
async function runWithin(rpc: InvokeRpcRequest, deps: FunctionDeps) {
  const abort = new AbortController();
  const cancellations = { register: () => ({ signal: abort.signal, release: () => undefined }) };
  const timeoutMs = deps.limits.invokeTimeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => {
      abort.abort(new Error('the invoke timed out'));
      resolve('timeout');
    }, timeoutMs);
  });
  try {
    const reply = await Promise.race([answerInvoke(rpc, { ...deps.invoke, cancellations }), timedOut]);
    if (reply === 'timeout') throw new KeelsonError(504, ErrorCodes.timeout, `the agent did not answer within ${timeoutMs} ms`);
    if (!reply.ok && reply.budget) throw new BudgetExceededError(reply.budget, reply.message);
    if (!reply.ok) throw new KeelsonError(reply.status, reply.code as ErrorCode, reply.message, reply.field);
    return reply.outcome;
  } finally {
    clearTimeout(timer);
  }
}
