import { context } from '@opentelemetry/api';
import type { ChatMessage, FinishReason, ToolCall, Usage, UsageStatus } from '@keelson/contracts';
import { fallback, FallbackExhaustedError, type FallbackAttempt } from '@keelson/cost';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ModelChunk, ModelRequest, ProviderRegistry } from '../model/provider';
import { countTokens } from '../model/tokens';
import { isRefusal, type BudgetRefusal, type MeteredModelCall, type ModelCallMetering } from './metering';
import type { ModelCandidate, ModelResponseCache, ModelRouting, RoutedCall, RoutingPlan } from './model-routing';
import { RunError } from './run-error';
import { ChatSpan, traceCacheHit } from './tracing';

/** What one model call produced; `calls` is how many model calls it took (fallbacks count, a cache hit is 0). */
export interface Step {
  text: string;
  calls: ToolCall[];
  finish: FinishReason;
  usage: Usage;
  model: string;
  modelCalls: number;
}

/** The run around a step: its signals, callbacks and the optional routing, cache and metering. */
export interface StepContext {
  agent: AgentDefinition;
  providers: ProviderRegistry;
  /** The run's signal: the caller's cancel or the timeout. */
  signal: AbortSignal;
  callerSignal?: AbortSignal;
  timedOut: () => boolean;
  timeoutError: (cause?: unknown) => RunError;
  onDelta?: (text: string) => void;
  onRouted?: (routed: RoutedCall) => void;
  metering?: ModelCallMetering;
  routing?: ModelRouting;
  cache?: ModelResponseCache;
}

/** A candidate's stream up to its first output (or its end, or an error that ends the step). */
interface Opened {
  candidate: ModelCandidate;
  request: ModelRequest;
  metered: MeteredModelCall | undefined;
  iterator: AsyncGenerator<ModelChunk>;
  cut: AbortController;
  signal: AbortSignal;
  /** Chunks read while waiting for output: no output among them except the last. */
  buffered: ModelChunk[];
  done: boolean;
  /** Thrown before any output, and not one to fall back from (the run was aborted, or a fixed model). */
  error?: unknown;
  chat: ChatSpan;
}

const CACHE_REPLAY_CHARS = 64;
const ZERO_USAGE: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };

/**
 * One model call of the loop: choose the model (the fixed one, or the routing policy's candidates), answer
 * from the exact cache when the request is deterministic and the answer is there, else stream from the first
 * candidate that produces output, falling back to the next only while nothing has streamed. Metered per
 * candidate tried (one begin and one finish each, so each leaves its usage record).
 */
export async function modelStep(ctx: StepContext, base: Omit<ModelRequest, 'model'>, callIndex: number): Promise<Step> {
  const plan = await planFor(ctx, base, callIndex);
  const first = plan?.candidates[0] ?? { provider: ctx.agent.model.provider!, model: ctx.agent.model.name! };
  const cacheable = ctx.cache !== undefined && base.temperature === 0;
  const routed = (candidate: ModelCandidate, attempts: FallbackAttempt[], extra: string[] = []) => {
    if (!plan) return;
    ctx.onRouted?.({
      callIndex,
      policy: plan.policy,
      tier: plan.tier,
      score: plan.score,
      candidate,
      reasons: [...plan.reasons, ...extra],
      pinned: plan.pinned,
      downgraded: plan.downgraded,
      fallbacks: attempts.map((a) => ({ candidate: a.candidate, outcome: a.outcome, error: a.reason })),
    });
  };

  if (cacheable) {
    const hit = await ctx.cache!.get({ agent: ctx.agent, provider: first.provider, request: { ...base, model: first.model } });
    if (hit) {
      routed(first, [], ['cache_hit']);
      traceCacheHit(first.provider, first.model, callIndex);
      for (const piece of hit.text.match(new RegExp(`[\\s\\S]{1,${CACHE_REPLAY_CHARS}}`, 'g')) ?? []) ctx.onDelta?.(piece);
      return { text: hit.text, calls: [], finish: hit.finishReason, usage: { ...ZERO_USAGE }, model: first.model, modelCalls: 0 };
    }
  }

  let next = callIndex;
  let opened: Opened;
  if (!plan) opened = await open(ctx, first, base, next++, false);
  else {
    const attempts: FallbackAttempt[] = [];
    try {
      const result = await fallback(plan.candidates, (candidate, signal) => open(ctx, candidate, base, next++, true, signal), {
        ...(plan.candidateTimeoutMs !== undefined ? { timeoutMs: plan.candidateTimeoutMs } : {}),
        shouldFallback: (err) => !(err instanceof RunError && err.code === 'budget_exceeded'),
        onFallback: (attempt) => attempts.push(attempt),
      });
      opened = result.result;
    } catch (err) {
      // Every candidate failed before any output (the last one is the event's candidate), or one was refused by its budget.
      const exhausted = err instanceof FallbackExhaustedError;
      routed(exhausted ? attempts.at(-1)!.candidate : plan.candidates[attempts.length]!, exhausted ? attempts.slice(0, -1) : attempts);
      if (err instanceof RunError) throw err;
      if (ctx.timedOut()) throw ctx.timeoutError(err);
      throw new RunError('model_error', `routing policy "${plan.policy}": ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    routed(opened.candidate, attempts);
    if (opened.error === undefined) ctx.routing!.answered(opened.candidate, plan).catch(() => undefined);
  }
  const step = await consume(ctx, opened);
  if (cacheable && step.finish === 'stop' && step.calls.length === 0 && step.usageStatus === 'completed') {
    await ctx.cache!.put({ agent: ctx.agent, provider: opened.candidate.provider, request: opened.request }, { text: step.text, finishReason: 'stop', usage: step.usage });
  }
  return { text: step.text, calls: step.calls, finish: step.finish, usage: step.usage, model: opened.candidate.model, modelCalls: next - callIndex };
}

async function planFor(ctx: StepContext, base: Omit<ModelRequest, 'model'>, callIndex: number): Promise<RoutingPlan | undefined> {
  const policy = ctx.agent.model.routing;
  if (policy === undefined) return undefined;
  if (!ctx.routing) throw new RunError('provider_not_found', `agent "${ctx.agent.id}" names routing policy "${policy}", and this runtime has no routing configured`);
  try {
    const plan = await ctx.routing.choose({ agent: ctx.agent, request: { ...base, model: '' }, callIndex });
    if (plan.candidates.length === 0) throw new Error('the policy gave no candidates');
    return plan;
  } catch (err) {
    throw new RunError('provider_not_found', `agent "${ctx.agent.id}": routing policy "${policy}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
}

/**
 * Starts a candidate's call and reads until its first output. `routed`: an error before output throws (after
 * leaving its usage record), so `fallback` tries the next candidate; one caused by the run's own abort, or
 * any for a fixed model, is kept in `error` for `consume` to map as a step always has.
 */
async function open(
  ctx: StepContext,
  candidate: ModelCandidate,
  base: Omit<ModelRequest, 'model'>,
  callIndex: number,
  routed: boolean,
  fallbackSignal?: AbortSignal,
): Promise<Opened> {
  const provider = ctx.providers.get(candidate.provider);
  if (!provider) throw new RunError('provider_not_found', `model provider "${candidate.provider}" is not configured`);
  const request: ModelRequest = { ...base, model: candidate.model };
  const metered = await ctx.metering?.begin({ provider: candidate.provider, request, callIndex });
  if (isRefusal(metered)) throw new RunError('budget_exceeded', metered.message, { budget: metered.refused });
  const cut = new AbortController();
  const signal = AbortSignal.any([ctx.signal, cut.signal, ...(fallbackSignal ? [fallbackSignal] : [])]);
  const iterator = deferred(() => provider.stream(request, signal));
  const chat = new ChatSpan(candidate.provider, request);
  const opened: Opened = { candidate, request, metered, iterator, cut, signal, buffered: [], done: false, chat };
  try {
    for (;;) {
      const next = await untilAborted(context.with(chat.context, () => iterator.next()), signal);
      if (next.done) {
        opened.done = true;
        return opened;
      }
      opened.buffered.push(next.value);
      if (next.value.type === 'text' ? next.value.text !== '' : next.value.type === 'tool_call') {
        chat.firstToken();
        return opened;
      }
    }
  } catch (err) {
    if (!routed || ctx.signal.aborted) {
      opened.error = err;
      return opened;
    }
    iterator.return(undefined).catch(() => undefined);
    chat.end({ model: candidate.model, error: err });
    await metered?.finish({ status: fallbackSignal?.aborted ? 'cancelled' : 'failed' });
    throw err;
  }
}

/** Reads the rest of an opened stream: text to onDelta, tool calls assembled, metered; one usage record at the end. */
async function consume(ctx: StepContext, opened: Opened): Promise<Omit<Step, 'model' | 'modelCalls'> & { usageStatus: UsageStatus }> {
  const { metered, cut, request } = opened;
  let cutBy: BudgetRefusal | undefined;
  const meter = async (output: string) => {
    if (!metered || cutBy || output === '') return;
    cutBy = await metered.onOutput(output);
    if (cutBy) cut.abort(new Error('budget exceeded'));
  };
  let text = '';
  let usage: Usage | undefined;
  let finish: FinishReason = 'stop';
  const calls = new Map<string, ToolCall>(); // fragments by call id, in the order the calls began
  let done = opened.done && opened.buffered.length === 0;
  let failed: unknown;
  let status: UsageStatus = 'completed';
  const read = async (): Promise<IteratorResult<ModelChunk>> => {
    const buffered = opened.buffered.shift();
    if (buffered) return { done: false, value: buffered };
    if (opened.error !== undefined) throw opened.error;
    if (opened.done) return { done: true, value: undefined };
    return untilAborted(opened.iterator.next(), opened.signal);
  };
  try {
    while (!done) {
      let next: IteratorResult<ModelChunk>;
      try {
        next = await read();
      } catch (err) {
        if (cutBy) break;
        if (ctx.timedOut()) throw ctx.timeoutError(err);
        if (ctx.callerSignal?.aborted) {
          finish = 'cancelled';
          break;
        }
        throw new RunError('model_error', `model "${request.model}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      done = next.done === true;
      if (done) break;
      const chunk = next.value;
      if (chunk.type === 'text') {
        text += chunk.text;
        ctx.onDelta?.(chunk.text);
        await meter(chunk.text);
      } else if (chunk.type === 'usage') usage = chunk.usage;
      else if (chunk.type === 'finish') finish = chunk.reason;
      else {
        const call = calls.get(chunk.id) ?? { id: chunk.id, name: chunk.name, arguments: '' };
        if (!call.name && chunk.name) call.name = chunk.name;
        call.arguments += chunk.argumentsDelta;
        calls.set(chunk.id, call);
        await meter(chunk.argumentsDelta);
      }
    }
  } catch (err) {
    failed = err;
    throw err;
  } finally {
    // However the step ended early, let the provider close its connection; its answer no longer matters,
    // and a provider that hangs must not hold up the caller, so this is not awaited.
    if (!done && !opened.done) opened.iterator.return(undefined).catch(() => undefined);
    // Every ending leaves exactly one usage record: the provider's figures when it sent them, else estimated.
    status = usageStatus(finish, failed, cutBy);
    const error = failed ?? (cutBy ? new RunError('budget_exceeded', cutBy.message) : undefined);
    opened.chat.end({ model: request.model, finish, ...(usage ? { usage } : {}), toolCalls: calls.size, ...(error !== undefined ? { error } : {}) });
    await metered?.finish({ status, ...(usage ? { usage } : {}) });
  }
  if (cutBy) throw new RunError('budget_exceeded', `${cutBy.message}; the model's answer was cut off`, { budget: cutBy.refused });
  const toolCalls = finish === 'cancelled' ? [] : [...calls.values()];
  // A provider that reports no usage still gets a figure, estimated: quotas need one.
  usage ??= estimateUsage(request.messages, text + toolCalls.map((c) => c.name + c.arguments).join(''));
  return { text, calls: toolCalls, finish, usage, usageStatus: status };
}

/** How a model call ended, for its usage record. */
function usageStatus(finish: FinishReason, failed: unknown, cutBy: BudgetRefusal | undefined): UsageStatus {
  if (cutBy) return 'truncated';
  if (failed !== undefined) return 'failed';
  if (finish === 'cancelled') return 'cancelled';
  if (finish === 'length') return 'truncated';
  return finish === 'error' ? 'failed' : 'completed';
}

/** The provider's stream, started on the first next(): a provider that throws at once is a failed step too. */
async function* deferred(start: () => AsyncIterable<ModelChunk>): AsyncGenerator<ModelChunk> {
  yield* start();
}

/** `promise`, unless `signal` aborts first: then a rejection with the abort reason. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) return Promise.reject(signal.reason);
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(err);
      },
    );
  });
}

function estimateUsage(messages: ChatMessage[], output: string): Usage {
  const inputTokens = messages.reduce((sum, m) => sum + countTokens(m.content) + (m.role === 'assistant' && 'toolCalls' in m ? countTokens(JSON.stringify(m.toolCalls)) : 0), 0);
  const outputTokens = countTokens(output);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
