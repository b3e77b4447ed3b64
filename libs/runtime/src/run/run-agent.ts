import type { ChatMessage, FinishReason, RunOutcome, Usage } from '@keelson/contracts';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ModelChunk, ProviderRegistry } from '../model/provider';
import { countTokens } from '../model/tokens';
import { RunError } from './run-error';

export interface RunAgentOptions {
  agent: AgentDefinition;
  /** The conversation without the system prompt; runAgent prepends the agent's. */
  messages: ChatMessage[];
  providers: ProviderRegistry;
  /** The caller's cancel: the run ends with finishReason 'cancelled' and the output so far. */
  signal?: AbortSignal;
  /** Each text delta as it streams; an error thrown here ends the run and reaches the caller as is. */
  onDelta?: (text: string) => void;
}

/**
 * Runs one agent turn on its model and reports the outcome. Enforces `limits.timeoutMs` even against a
 * provider that ignores its abort signal (throws RunError 'timeout'), and turns provider failures into
 * RunError 'model_error'.
 */
export async function runAgent(opts: RunAgentOptions): Promise<RunOutcome> {
  const { agent } = opts;
  const provider = opts.providers.get(agent.model.provider);
  if (!provider) {
    throw new RunError('provider_not_found', `agent "${agent.id}" needs model provider "${agent.model.provider}", which is not configured`);
  }
  const messages: ChatMessage[] = agent.systemPrompt
    ? [{ role: 'system', content: agent.systemPrompt }, ...opts.messages]
    : opts.messages;

  // One signal for the provider, fired by the caller's cancel or by the timeout; `timedOut` tells them apart.
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new Error('timeout'));
  }, agent.limits.timeoutMs);
  const onCallerAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (opts.signal?.aborted) onCallerAbort();

  let output = '';
  let usage: Usage | undefined;
  let finishReason: FinishReason = 'stop';
  const req = { model: agent.model.name, messages, maxOutputTokens: agent.limits.maxOutputTokens };
  const iterator = deferred(() => provider.stream(req, abort.signal));
  let done = false;
  try {
    while (!done) {
      let step: IteratorResult<ModelChunk>;
      try {
        step = await untilAborted(iterator.next(), abort.signal);
      } catch (err) {
        if (timedOut) throw new RunError('timeout', `agent "${agent.id}" did not finish within ${agent.limits.timeoutMs} ms`, { cause: err });
        if (opts.signal?.aborted) {
          finishReason = 'cancelled';
          break;
        }
        throw new RunError('model_error', `model "${agent.model.name}" failed: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      done = step.done === true;
      if (done) break;
      const chunk = step.value;
      if (chunk.type === 'text') {
        output += chunk.text;
        opts.onDelta?.(chunk.text);
      } else if (chunk.type === 'usage') usage = chunk.usage;
      else if (chunk.type === 'finish') finishReason = chunk.reason;
      else throw new RunError('model_error', `model "${agent.model.name}" called tool "${chunk.name}", but this runtime has no tools yet`);
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
    // However the loop ended early, let the provider close its connection; its answer no longer matters,
    // and a provider that hangs must not hold up the caller, so this is not awaited.
    if (!done) iterator.return(undefined).catch(() => undefined);
  }
  // A provider that reports no usage still gets a figure, estimated: quotas need one.
  usage ??= estimateUsage(messages, output);
  return { agentId: agent.id, model: agent.model.name, output, finishReason, usage };
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
  const inputTokens = messages.reduce((sum, m) => sum + countTokens(m.content), 0);
  const outputTokens = countTokens(output);
  return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
}
