import { context, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import type { FinishReason, RunOutcome, ToolCall, Usage } from '@keelson/contracts';
import type { AgentDefinition } from '../agents/agent-definition';
import type { ModelRequest } from '../model/provider';
import type { ToolResult } from '../tools/tool';
import { RunError } from './run-error';

/**
 * The runtime's spans, by the OpenTelemetry GenAI conventions: `invoke_agent {agent id}` around a run,
 * `chat {model}` (CLIENT) per model call (each fallback candidate is its own call), `execute_tool {tool}`
 * per tool call. Attributes carry ids, models, counts and outcomes only: never message text, tool
 * arguments or results. With no SDK registered every call here is a cheap no-op.
 */
export const tracer = trace.getTracer('@keelson/runtime');

export const GenAiAttributes = {
  operationName: 'gen_ai.operation.name',
  providerName: 'gen_ai.provider.name',
  agentId: 'gen_ai.agent.id',
  agentName: 'gen_ai.agent.name',
  requestModel: 'gen_ai.request.model',
  requestMaxTokens: 'gen_ai.request.max_tokens',
  requestTemperature: 'gen_ai.request.temperature',
  responseModel: 'gen_ai.response.model',
  finishReasons: 'gen_ai.response.finish_reasons',
  inputTokens: 'gen_ai.usage.input_tokens',
  outputTokens: 'gen_ai.usage.output_tokens',
  toolName: 'gen_ai.tool.name',
  toolCallId: 'gen_ai.tool.call.id',
  toolType: 'gen_ai.tool.type',
  errorType: 'error.type',
  tenant: 'keelson.tenant',
  /** Seconds from the call's start to its first text or tool call delta. */
  timeToFirstToken: 'keelson.gen_ai.time_to_first_token',
  /** Tool calls the model asked for in this call (their names and arguments are not recorded). */
  toolCalls: 'keelson.gen_ai.tool_calls',
  /** The run stopped for a human's approval (not a failure). */
  paused: 'keelson.run.paused',
} as const;

/** Runs one agent run inside its `invoke_agent` span; a RunPaused is recorded as such, not as a failure. */
export function traceRun(agent: AgentDefinition, tenant: string | undefined, run: () => Promise<RunOutcome>): Promise<RunOutcome> {
  const attributes: Attributes = {
    [GenAiAttributes.operationName]: 'invoke_agent',
    [GenAiAttributes.agentId]: agent.id,
    [GenAiAttributes.agentName]: agent.id,
    ...(agent.model.provider ? { [GenAiAttributes.providerName]: agent.model.provider } : {}),
    ...(agent.model.name ? { [GenAiAttributes.requestModel]: agent.model.name } : {}),
    ...(tenant ? { [GenAiAttributes.tenant]: tenant } : {}),
  };
  return tracer.startActiveSpan(`invoke_agent ${agent.id}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      const outcome = await run();
      if (span.isRecording()) {
        span.setAttributes({
          ...(outcome.model ? { [GenAiAttributes.responseModel]: outcome.model } : {}),
          [GenAiAttributes.finishReasons]: [outcome.finishReason],
          ...usageAttributes(outcome.usage),
        });
      }
      return outcome;
    } catch (err) {
      if (err instanceof Error && err.name === 'RunPaused') span.setAttribute(GenAiAttributes.paused, true);
      else fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * A model call answered by the exact response cache: no provider was asked, so there is no `chat` span (whose
 * tokens and latency would be invented); the run's span gets a `keelson.response_cache.hit` event instead, so a
 * trace still shows where the answer came from.
 */
export function traceCacheHit(provider: string, model: string, callIndex: number): void {
  trace.getActiveSpan()?.addEvent('keelson.response_cache.hit', { [GenAiAttributes.providerName]: provider, [GenAiAttributes.requestModel]: model, 'keelson.gen_ai.call_index': callIndex });
}

/** Runs one tool call inside its `execute_tool` span; a failed result (the tool's error is not recorded) marks it failed. */
export function traceTool(call: ToolCall, run: () => Promise<ToolResult>): Promise<ToolResult> {
  const attributes: Attributes = {
    [GenAiAttributes.operationName]: 'execute_tool',
    [GenAiAttributes.toolName]: call.name,
    [GenAiAttributes.toolCallId]: call.id,
    [GenAiAttributes.toolType]: 'function',
  };
  return tracer.startActiveSpan(`execute_tool ${call.name}`, { kind: SpanKind.INTERNAL, attributes }, async (span) => {
    try {
      const result = await run();
      if (!result.ok) {
        // The error text can quote the arguments, so only its kind is recorded.
        span.setAttribute(GenAiAttributes.errorType, 'tool_error');
        span.setStatus({ code: SpanStatusCode.ERROR });
      }
      return result;
    } catch (err) {
      fail(span, err);
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * One model call's `chat {model}` span, started before the provider is asked and ended once with how the
 * call ended. `context` is the one to run the provider's stream in, so its HTTP client span is a child.
 */
export class ChatSpan {
  readonly span: Span;
  readonly context: Context;
  private readonly started = performance.now();
  private firstTokenSeen = false;
  private ended = false;

  constructor(provider: string, request: ModelRequest) {
    this.span = tracer.startSpan(`chat ${request.model}`, {
      kind: SpanKind.CLIENT,
      attributes: {
        [GenAiAttributes.operationName]: 'chat',
        [GenAiAttributes.providerName]: provider,
        [GenAiAttributes.requestModel]: request.model,
        [GenAiAttributes.requestMaxTokens]: request.maxOutputTokens,
        ...(request.temperature !== undefined ? { [GenAiAttributes.requestTemperature]: request.temperature } : {}),
      },
    });
    this.context = trace.setSpan(context.active(), this.span);
  }

  /** The first text or tool call delta arrived. */
  firstToken(): void {
    if (this.firstTokenSeen) return;
    this.firstTokenSeen = true;
    this.span.setAttribute(GenAiAttributes.timeToFirstToken, (performance.now() - this.started) / 1000);
  }

  end(result: { model: string; finish?: FinishReason; usage?: Usage; toolCalls?: number; error?: unknown }): void {
    if (this.ended) return;
    this.ended = true;
    if (this.span.isRecording()) {
      this.span.setAttributes({
        [GenAiAttributes.responseModel]: result.model,
        ...(result.finish ? { [GenAiAttributes.finishReasons]: [result.finish] } : {}),
        ...(result.usage ? usageAttributes(result.usage) : {}),
        ...(result.toolCalls ? { [GenAiAttributes.toolCalls]: result.toolCalls } : {}),
      });
      if (result.error !== undefined) fail(this.span, result.error);
      else if (result.finish === 'error') {
        this.span.setAttribute(GenAiAttributes.errorType, 'model_error');
        this.span.setStatus({ code: SpanStatusCode.ERROR });
      }
    }
    this.span.end();
  }
}

function usageAttributes(usage: Usage): Attributes {
  return { [GenAiAttributes.inputTokens]: usage.inputTokens, [GenAiAttributes.outputTokens]: usage.outputTokens };
}

/**
 * Marks a span failed with `error.type` (a RunError's code, else the error's class), which is also the
 * status message: an error's own message can quote what a provider echoed back of the prompt.
 */
function fail(span: Span, err: unknown): void {
  const type = err instanceof RunError ? err.code : err instanceof Error ? err.name : 'unknown';
  span.setAttribute(GenAiAttributes.errorType, type);
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}
