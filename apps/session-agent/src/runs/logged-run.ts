import { ErrorCodes, type ChatMessage, type RunOutcome, type TaskError } from '@keelson/contracts';
import { DeltaCoalescer, RunError, runAgent, type AgentDefinition, type ProviderRegistry } from '@keelson/runtime';
import type { RunLog } from './run-log';

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
}

/**
 * Runs an agent and writes its run log: started, coalesced deltas, then completed or failed.
 *
 * The agent failing (a RunError: model error, timeout) is an outcome: it is logged as run.failed and
 * returned. Anything else is thrown, in particular a publish that failed (NATS or the stream is down),
 * because then the caller's message must be retried rather than acknowledged with a half-written log.
 */
export async function runLogged(opts: LoggedRunOptions): Promise<LoggedRunResult> {
  const { log } = opts;
  await log.started();

  // The coalescer flushes synchronously; publishes are chained so deltas reach the stream in seq order.
  let published: Promise<void> = Promise.resolve();
  let publishFailure: unknown;
  const coalescer = new DeltaCoalescer({
    maxChars: DELTA_MAX_CHARS,
    maxDelayMs: DELTA_MAX_DELAY_MS,
    flush: (text) => {
      published = published.then(async () => {
        if (publishFailure !== undefined) return;
        await log.delta(text).catch((err: unknown) => {
          publishFailure = err;
        });
      });
    },
  });

  let outcome: RunOutcome | undefined;
  let runFailure: unknown;
  try {
    outcome = await runAgent({
      agent: opts.agent,
      messages: opts.messages,
      providers: opts.providers,
      signal: opts.signal,
      onDelta: (text) => {
        // Stop the model as soon as the log cannot be written; runAgent rethrows this as is.
        if (publishFailure !== undefined) throw publishFailure;
        coalescer.push(text);
      },
    });
  } catch (err) {
    runFailure = err;
  }
  coalescer.end();
  await published;
  if (publishFailure !== undefined) throw publishFailure;
  if (opts.signal?.aborted) throw opts.signal.reason;

  if (outcome) {
    await log.completed(outcome);
    return { ok: true, outcome };
  }
  if (!(runFailure instanceof RunError)) throw runFailure;
  const error = agentFailure(runFailure);
  await log.failed(error);
  return { ok: false, error };
}

/** The error a caller sees for a failed run: one stable code, the runtime's reason in the message. */
export function agentFailure(err: RunError): TaskError {
  return { code: ErrorCodes.agentFailed, message: `${err.code}: ${err.message}` };
}
