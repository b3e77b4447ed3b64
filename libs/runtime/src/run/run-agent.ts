import type { ChatMessage, FinishReason, RunOutcome, ToolCall, Usage } from '@keelson/contracts';
import type { RunGuard } from '@keelson/guard';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ModelRequest, ProviderRegistry } from '../model/provider';
import type { ToolResult } from '../tools/tool';
import type { ToolRegistry } from '../tools/tool-registry';
import type { ModelCallMetering } from './metering';
import type { ModelResponseCache, ModelRouting, RoutedCall } from './model-routing';
import { modelStep, type StepContext } from './model-step';
import { RunError } from './run-error';
import { traceRun, traceTool } from './tracing';

export interface RunAgentOptions {
  agent: AgentDefinition;
  /** The conversation without the system prompt; runAgent prepends the agent's. */
  messages: ChatMessage[];
  providers: ProviderRegistry;
  /** The caller's cancel: the run ends with finishReason 'cancelled' and the output so far. */
  signal?: AbortSignal;
  /** Each text delta as it streams; an error thrown here ends the run and reaches the caller as is. */
  onDelta?: (text: string) => void;
  /**
   * The tools this runtime offers. The model is offered those the agent's `tools` lists; without a
   * registry it is offered none, and any call it makes anyway is answered as an unknown tool.
   */
  tools?: ToolRegistry;
  /** Longest one tool call may run; default 30 s. The run's own timeout still applies. */
  toolTimeoutMs?: number;
  /** Each tool call, complete, before it runs; an error thrown here reaches the caller as is. */
  onToolCall?: (call: ToolCall) => void;
  /** Each tool call's result, as it is given back to the model; an error thrown here reaches the caller as is. */
  onToolResult?: (result: ToolResult) => void;
  /**
   * The caller can pause the run for a human's approval (see RunPaused). Without it, a call to a tool the
   * agent's `approval.tools` lists is answered as a failed result and never runs.
   */
  pauseForApproval?: boolean;
  /** Continue a paused run from its checkpoint (with `messages` ignored), decisions included. */
  resume?: RunCheckpoint;
  /**
   * Messages sent to this run while it works (a session's `steer` policy): asked for after each step's tool
   * results, before the next model call; each joins the conversation as a user message. An error thrown
   * here reaches the caller as is.
   */
  steering?: () => Promise<string[]>;
  /**
   * Budgets and usage records for each model call (see ModelCallMetering): a call its budgets refuse, or one
   * whose stream crosses a hard cap (the stream is cut), ends the run with RunError 'budget_exceeded'.
   */
  metering?: ModelCallMetering;
  /**
   * Chooses the model of each call when the agent's `model` names a routing policy (required then; see
   * ModelRouting); each decision goes to onRouted. Fixed-model agents never use it.
   */
  routing?: ModelRouting;
  /** Each routing decision, before the call's first delta; an error thrown here reaches the caller as is. */
  onRouted?: (routed: RoutedCall) => void;
  /** The exact response cache, asked only when the agent's model sets temperature 0 (see ModelResponseCache). */
  cache?: ModelResponseCache;
  /**
   * The tenant's guard (see guardedInput and the output filter below): the user's message is checked before
   * the first model call (blocked: RunError 'input_blocked'); tool results and steered messages that look
   * like an injection are withheld from the model; the text that leaves (deltas, `output`) and what the run
   * log shows of tool calls and results pass the output filter. The model's own context keeps its raw text.
   */
  guard?: RunGuard;
  /** The tenant the run works for; only its trace span records it. */
  tenant?: string;
}

/** A human's answer to one paused tool call. */
export interface ApprovalVerdict {
  approved: boolean;
  reason?: string;
}

/** Everything a paused run needs to continue, anywhere: JSON, stored with its approval. */
export interface RunCheckpoint {
  /** The conversation before the paused step, without the system prompt. */
  messages: ChatMessage[];
  /** The paused step: the model's text and every call it made (all run together once each is decided). */
  text: string;
  calls: ToolCall[];
  /** The paused step's number: the model calls made so far. */
  step: number;
  /** Model calls made so far, fallbacks included (the next call's usage index); `step` when absent. */
  modelCalls?: number;
  output: string;
  usage: Usage;
  /** Decisions so far, by call id. */
  decisions: Record<string, ApprovalVerdict>;
}

/** Not a failure: the run stopped at `call`, which needs a human's approval; continue it with `checkpoint`. */
export class RunPaused extends Error {
  override readonly name = 'RunPaused';
  constructor(
    readonly call: ToolCall,
    readonly checkpoint: RunCheckpoint,
  ) {
    super(`run paused: tool call ${call.id} (${call.name}) needs approval`);
  }
}

/** Whether the agent marks this tool as needing a human's approval. */
export function needsApproval(agent: AgentDefinition, toolName: string): boolean {
  return agent.approval?.tools.includes(toolName) ?? false;
}

/**
 * Runs one agent turn: the agent loop. Calls the model; when it asks for tools, runs them (in parallel),
 * gives the results back and calls it again, until it answers without tool calls. Every call is one step:
 * a model still asking for tools on step `limits.maxSteps` ends the run with RunError 'max_steps' (its
 * calls are not run), since there is no answer to report. A bad tool call (unknown or disallowed tool,
 * invalid JSON or arguments, a tool that throws or times out) is answered as a failed result, so the
 * model can recover; it never fails the run.
 *
 * `output` is all the text the model streamed, over every step (what onDelta saw); `usage` is summed
 * over steps (estimated for a step whose provider reported none). Enforces `limits.timeoutMs` over the
 * whole loop, tools included, even against a provider that ignores its abort signal (RunError 'timeout');
 * the caller's cancel ends the run 'cancelled' in a model call or between steps; provider failures are
 * RunError 'model_error'.
 */
export function runAgent(opts: RunAgentOptions): Promise<RunOutcome> {
  return traceRun(opts.agent, opts.tenant, () => runLoop(opts));
}

async function runLoop(opts: RunAgentOptions): Promise<RunOutcome> {
  const { agent } = opts;
  const fixed = agent.model.routing === undefined ? agent.model : undefined;
  if (fixed && !opts.providers.get(fixed.provider)) {
    throw new RunError('provider_not_found', `agent "${agent.id}" needs model provider "${fixed.provider}", which is not configured`);
  }
  if (!opts.resume && opts.guard) screenUserMessage(opts.guard, opts.messages);
  const base = opts.resume ? opts.resume.messages : opts.messages;
  const conversation: ChatMessage[] = agent.systemPrompt ? [{ role: 'system', content: agent.systemPrompt }, ...base] : [...base];
  const prefix = agent.systemPrompt ? 1 : 0;
  const tools = opts.tools?.specsFor(agent) ?? [];

  // One signal for the provider and the tools, fired by the caller's cancel or by the timeout.
  const abort = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    abort.abort(new Error('timeout'));
  }, agent.limits.timeoutMs);
  const onCallerAbort = () => abort.abort(opts.signal?.reason);
  opts.signal?.addEventListener('abort', onCallerAbort, { once: true });
  if (opts.signal?.aborted) onCallerAbort();
  const timeoutError = (cause?: unknown) =>
    new RunError('timeout', `agent "${agent.id}" did not finish within ${agent.limits.timeoutMs} ms`, { cause });
  const step: StepContext = {
    agent,
    providers: opts.providers,
    signal: abort.signal,
    ...(opts.signal ? { callerSignal: opts.signal } : {}),
    timedOut: () => timedOut,
    timeoutError,
    ...(opts.onDelta ? { onDelta: opts.onDelta } : {}),
    ...(opts.onRouted ? { onRouted: opts.onRouted } : {}),
    ...(opts.metering ? { metering: opts.metering } : {}),
    ...(opts.routing ? { routing: opts.routing } : {}),
    ...(opts.cache ? { cache: opts.cache } : {}),
  };
  let callIndex = opts.resume ? (opts.resume.modelCalls ?? opts.resume.step) : 0;
  let model = fixed?.name ?? '';

  let output = opts.resume?.output ?? '';
  const usages: Usage[] = opts.resume ? [opts.resume.usage] : [];
  const decisions: Record<string, ApprovalVerdict> = { ...opts.resume?.decisions };
  let pending: { text: string; calls: ToolCall[] } | undefined = opts.resume ? { text: opts.resume.text, calls: opts.resume.calls } : undefined;
  let finishReason: FinishReason = 'stop';
  try {
    for (let stepNo = opts.resume?.step ?? 1; ; stepNo++) {
      if (abort.signal.aborted) {
        if (timedOut) throw timeoutError();
        finishReason = 'cancelled';
        break;
      }
      let result: { text: string; calls: ToolCall[] };
      if (pending) {
        result = pending;
        pending = undefined;
      } else {
        const req: Omit<ModelRequest, 'model'> = { messages: [...conversation], maxOutputTokens: agent.limits.maxOutputTokens };
        if (tools.length > 0) req.tools = tools;
        if (agent.model.temperature !== undefined) req.temperature = agent.model.temperature;
        const filtered = filteredStep(step, opts);
        const stepResult = await modelStep(filtered.step, req, callIndex).finally(() => filtered.end());
        callIndex += stepResult.modelCalls;
        model = stepResult.model;
        output += opts.guard ? filtered.text() : stepResult.text;
        usages.push(stepResult.usage);
        if (stepResult.calls.length === 0 || stepResult.finish === 'cancelled') {
          if (timedOut) throw timeoutError();
          finishReason = stepResult.finish === 'tool_calls' ? 'stop' : stepResult.finish;
          break;
        }
        if (stepNo >= agent.limits.maxSteps) {
          throw new RunError(
            'max_steps',
            `agent "${agent.id}" still called tools (${stepResult.calls.map((c) => c.name).join(', ')}) after ${stepNo} model calls, its limits.maxSteps`,
          );
        }
        for (const call of stepResult.calls) opts.onToolCall?.(opts.guard ? { ...call, arguments: opts.guard.redact(call.arguments) } : call);
        result = stepResult;
      }
      // Every call of a step waits until each one needing approval is decided; they then run together.
      const undecided = opts.pauseForApproval
        ? result.calls.find((call) => needsApproval(agent, call.name) && !decisions[call.id])
        : undefined;
      if (undecided) {
        throw new RunPaused(undecided, {
          messages: conversation.slice(prefix),
          text: result.text,
          calls: result.calls,
          step: stepNo,
          modelCalls: callIndex,
          output,
          usage: sumUsage(usages),
          decisions,
        });
      }
      const results = await Promise.all(
        result.calls.map(async (call) => {
          const done = guardedResult(await traceTool(call, () => runCall(call, decisions[call.id], opts, abort.signal)), opts.guard);
          opts.onToolResult?.(done.ok && opts.guard ? { ...done, content: opts.guard.redact(done.content) } : done);
          return done;
        }),
      );
      conversation.push({ role: 'assistant', content: result.text, toolCalls: result.calls });
      for (const r of results) {
        conversation.push(
          r.ok
            ? { role: 'tool', toolCallId: r.callId, name: r.name, content: r.content }
            : { role: 'tool', toolCallId: r.callId, name: r.name, content: `Error: ${r.error}`, isError: true },
        );
      }
      for (const content of (await opts.steering?.()) ?? []) conversation.push({ role: 'user', content: guardedSteer(content, opts.guard) });
    }
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCallerAbort);
  }
  return { agentId: agent.id, model, output, finishReason, usage: sumUsage(usages) };
}

/** One tool call: run, unless it needs approval and was not approved (then answered as a failed result). */
async function runCall(call: ToolCall, verdict: ApprovalVerdict | undefined, opts: RunAgentOptions, signal: AbortSignal): Promise<ToolResult> {
  const { agent } = opts;
  if (needsApproval(agent, call.name) && !verdict?.approved) {
    const error = !verdict
      ? `tool "${call.name}" needs a human's approval, which this run cannot wait for`
      : `a human rejected this call to "${call.name}"${verdict.reason ? `: ${verdict.reason}` : ''}`;
    return { callId: call.id, name: call.name, ok: false, error };
  }
  return opts.tools
    ? opts.tools.execute(call, { agent, signal, timeoutMs: opts.toolTimeoutMs })
    : { callId: call.id, name: call.name, ok: false, error: `unknown tool "${call.name}"; no tools are available` };
}

/** The run's last user message, checked before anything runs: a blocked one ends the run unanswered. */
function screenUserMessage(guard: RunGuard, messages: ChatMessage[]): void {
  const last = messages.findLast((m) => m.role === 'user');
  if (!last) return;
  const check = guard.checkInput(last.content, 'user');
  if (!check.allowed) {
    const reasons = [...new Set(check.findings.map((f) => f.type))].join(', ');
    throw new RunError('input_blocked', `the message was blocked by the tenant's guard policy (${reasons}; score ${check.score.toFixed(2)})`);
  }
}

/** A tool result that reads like an injection is not given to the model; the model is told why instead. */
function guardedResult(result: ToolResult, guard: RunGuard | undefined): ToolResult {
  if (!guard || !result.ok) return result;
  const check = guard.checkInput(result.content, 'tool');
  if (check.allowed) return result;
  const reasons = [...new Set(check.findings.map((f) => f.type))].join(', ');
  return { ...result, content: `[tool result withheld by the guard: it looks like a prompt injection (${reasons})]` };
}

function guardedSteer(content: string, guard: RunGuard | undefined): string {
  if (!guard || guard.checkInput(content, 'user').allowed) return content;
  return '[message withheld by the guard: it looks like a prompt injection]';
}

/**
 * One model call's step context with the guard's output filter between the model and onDelta: a value is
 * never released in part (the filter holds back what might still grow), and end() releases the rest.
 * `text()` is what was released, which becomes the run's output.
 */
function filteredStep(step: StepContext, opts: RunAgentOptions): { step: StepContext; end(): void; text(): string } {
  if (!opts.guard) return { step, end: () => undefined, text: () => '' };
  const filter = opts.guard.outputFilter();
  let released = '';
  const release = (text: string) => {
    if (!text) return;
    released += text;
    opts.onDelta?.(text);
  };
  let ended = false;
  return {
    step: { ...step, onDelta: (text: string) => release(filter.push(text)) },
    end: () => {
      if (ended) return;
      ended = true;
      release(filter.end());
    },
    text: () => released,
  };
}

/** Usage over steps; `cachedInputTokens` only when some step reported it. */
function sumUsage(usages: Usage[]): Usage {
  const sum: Usage = { inputTokens: 0, outputTokens: 0, totalTokens: 0 };
  for (const u of usages) {
    sum.inputTokens += u.inputTokens;
    sum.outputTokens += u.outputTokens;
    sum.totalTokens += u.totalTokens;
    if (u.cachedInputTokens !== undefined) sum.cachedInputTokens = (sum.cachedInputTokens ?? 0) + u.cachedInputTokens;
  }
  return sum;
}
