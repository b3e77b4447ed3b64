import { ErrorCodes, type ChatMessage, type RunOutcome, type TaskError } from '@keelson/contracts';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ProviderRegistry } from '../model/provider';
import type { ToolRegistry } from '../tools/tool-registry';
import { DeltaCoalescer } from '../run/delta-coalescer';
import { RunPaused, runAgent, type RunCheckpoint } from '../run/run-agent';
import type { ModelCallMetering } from '../run/metering';
import type { ModelResponseCache, ModelRouting } from '../run/model-routing';
import { RunError } from '../run/run-error';
import type { RunLog } from './run-log';
import type { RunGuard } from '@keelson/guard';

/** Deltas are batched before they are published: one event per token would flood NATS and every reader. */
export const DELTA_MAX_CHARS = 256;
export const DELTA_MAX_DELAY_MS = 50;

export type LoggedRunResult = { ok: true; outcome: RunOutcome } | { ok: false; error: TaskError };

export interface LoggedRunOptions {
  agent: AgentDefinition;
  messages: ChatMessage[];
  providers: ProviderRegistry;
  log: RunLog;
  /** Aborting it cancels the run; the run then throws `signal.reason` instead of logging an outcome. */
  signal?: AbortSignal;
  /** The tools the run may use (see runAgent); each call and result is logged as run.tool_call / run.tool_result. */
  tools?: ToolRegistry;
  toolTimeoutMs?: number;
  /** Someone is watching the stream: publish the first text at once (see DeltaCoalescer.firstImmediately). */
  interactive?: boolean;
  /** Messages for the running loop, asked for between steps (see runAgent). */
  steering?: () => Promise<string[]>;
  /** Budgets and usage records of the run's model calls (see runAgent). */
  metering?: ModelCallMetering;
  /** Model choice for agents that name a routing policy; each decision is logged as run.routed (see runAgent). */
  routing?: ModelRouting;
  /** The exact response cache for temperature-0 agents (see runAgent). */
  cache?: ModelResponseCache;
  /** The tenant's guard: input checks and the output filter (see runAgent). */
  guard?: RunGuard;
}

/** A run that stopped for a human's approval: the caller stores `paused.checkpoint` and the log's position. */
export interface PausedRunResult {
  ok: false;
  paused: RunPaused;
}

export interface PausableRunOptions extends LoggedRunOptions {
  /** Continue a paused run: no run.started, and the log continues where the RunLog's `from` says. */
  resume?: RunCheckpoint;
}

/**
 * Runs an agent and writes the first part of its run log: started, then coalesced deltas, with each tool
 * call and result in its place among them. The terminal
 * event is the caller's to publish with `settleRunLog`, after it has stored the outcome, so that a reader
 * who sees run.completed and then reads the session or task finds the outcome already there.
 *
 * The agent failing (a RunError: model error, timeout) is an outcome: it is returned. Anything else is
 * thrown, in particular a publish that failed (NATS or the stream is down), because then the caller's
 * message must be retried rather than acknowledged with a half-written log.
 */
export async function runLogged(opts: LoggedRunOptions): Promise<LoggedRunResult> {
  const result = await runLoggedInner(opts, false);
  if ('paused' in result) throw result.paused; // cannot happen: this run was not allowed to pause
  return result;
}

/**
 * runLogged for a caller that can wait for a human: a call to a tool the agent's `approval` lists ends the
 * run paused (PausedRunResult, the tool call already logged) instead of running it; `resume` continues it.
 */
export function runLoggedPausable(opts: PausableRunOptions): Promise<LoggedRunResult | PausedRunResult> {
  return runLoggedInner(opts, true);
}

async function runLoggedInner(opts: PausableRunOptions, pausable: boolean): Promise<LoggedRunResult | PausedRunResult> {
  const { log } = opts;
  if (!opts.resume) await log.started();

  // The coalescer flushes synchronously; publishes are chained so events reach the stream in order.
  let published: Promise<void> = Promise.resolve();
  let publishFailure: unknown;
  const enqueue = (publish: () => Promise<void>) => {
    published = published.then(async () => {
      if (publishFailure !== undefined) return;
      await publish().catch((err: unknown) => {
        publishFailure = err;
      });
    });
  };
  const coalescer = new DeltaCoalescer({
    maxChars: DELTA_MAX_CHARS,
    maxDelayMs: DELTA_MAX_DELAY_MS,
    firstImmediately: opts.interactive ?? false,
    flush: (text) => enqueue(() => log.delta(text)),
  });

  // Each model call waits for the events before it (a tool result) to be stored first, so its model.call
  // audit event, recorded by the meter on another path, lands after them in the audit trail: one PubAck
  // between a tool result and the next call, nothing on a run without tools.
  const inner = opts.metering;
  const metering: ModelCallMetering | undefined = inner && {
    begin: async (call) => {
      await published;
      return inner.begin(call);
    },
  };

  let outcome: RunOutcome | undefined;
  let runFailure: unknown;
  try {
    outcome = await runAgent({
      agent: opts.agent,
      messages: opts.messages,
      providers: opts.providers,
      signal: opts.signal,
      tools: opts.tools,
      toolTimeoutMs: opts.toolTimeoutMs,
      pauseForApproval: pausable,
      resume: opts.resume,
      steering: opts.steering,
      metering,
      routing: opts.routing,
      cache: opts.cache,
      guard: opts.guard,
      tenant: opts.log.init.tenant,
      onRouted: (routed) => {
        if (publishFailure !== undefined) throw publishFailure;
        coalescer.flush(); // a fallback's decision comes before the deltas of the call it routed
        enqueue(() => log.routed(routed));
      },
      onDelta: (text) => {
        // Stop the model as soon as the log cannot be written; runAgent rethrows this as is.
        if (publishFailure !== undefined) throw publishFailure;
        coalescer.push(text);
      },
      onToolCall: (call) => {
        if (publishFailure !== undefined) throw publishFailure;
        coalescer.flush(); // the text before the call goes out before it
        enqueue(() => log.toolCall(call));
      },
      onToolResult: (result) => {
        if (publishFailure !== undefined) throw publishFailure;
        enqueue(() => log.toolResult(result));
      },
    });
  } catch (err) {
    runFailure = err;
  }
  coalescer.end();
  await published;
  if (publishFailure !== undefined) throw publishFailure;
  if (opts.signal?.aborted) throw opts.signal.reason;

  if (outcome) return { ok: true, outcome };
  if (runFailure instanceof RunPaused) return { ok: false, paused: runFailure };
  if (!(runFailure instanceof RunError)) throw runFailure;
  return { ok: false, error: agentFailure(runFailure) };
}

/** Ends a run log with run.completed or run.failed for the result runLogged returned. */
export function settleRunLog(log: RunLog, result: LoggedRunResult): Promise<void> {
  return result.ok ? log.completed(result.outcome) : log.failed(result.error);
}

/** The error a caller sees for a failed run: one stable code, the runtime's reason in the message. */
export function agentFailure(err: RunError): TaskError {
  if (err.code === 'budget_exceeded' && err.budget) return { code: ErrorCodes.budgetExceeded, message: err.message, budget: err.budget };
  if (err.code === 'input_blocked') return { code: ErrorCodes.inputBlocked, message: err.message };
  return { code: ErrorCodes.agentFailed, message: `${err.code}: ${err.message}` };
}
