import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import type { ToolCall } from '@keelson/contracts';
import { TOOL_NAME_PATTERN, type AgentDefinition } from '../agents/agent-definition';
import type { ToolSpec } from '../model/provider';
import type { Tool, ToolResult } from './tool';

/** Longest tool result given back to the model (ChatMessage content is capped at 100 000 characters). */
export const MAX_TOOL_RESULT_CHARS = 50_000;
export const DEFAULT_TOOL_TIMEOUT_MS = 30_000;

interface Entry {
  tool: Tool;
  validate: ValidateFunction;
}

/**
 * The tools a runtime offers, by name, each with its argument schema compiled once (a schema ajv cannot
 * compile is refused at registration). An agent may call only the tools its definition lists.
 */
export class ToolRegistry {
  private readonly ajv = new Ajv({ allErrors: true, strict: false });
  private readonly tools = new Map<string, Entry>();

  constructor(tools: Iterable<Tool> = []) {
    for (const tool of tools) this.register(tool);
  }

  register(tool: Tool): this {
    if (!TOOL_NAME_PATTERN.test(tool.name)) throw new Error(`tool name "${tool.name}" is not valid (letters, digits, _ and -, at most 64)`);
    if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is already registered`);
    let validate: ValidateFunction;
    try {
      validate = this.ajv.compile(tool.parameters);
    } catch (err) {
      throw new Error(`tool "${tool.name}": its parameters are not a usable JSON Schema: ${err instanceof Error ? err.message : String(err)}`);
    }
    this.tools.set(tool.name, { tool, validate });
    return this;
  }

  get(name: string): Tool | undefined {
    return this.tools.get(name)?.tool;
  }

  names(): string[] {
    return [...this.tools.keys()];
  }

  /** What the model is offered for `agent`: the tools it lists that are registered here, in its order. */
  specsFor(agent: AgentDefinition): ToolSpec[] {
    return agent.tools.flatMap((name) => {
      const entry = this.tools.get(name);
      return entry ? [{ name, description: entry.tool.description, parameters: entry.tool.parameters }] : [];
    });
  }

  /**
   * Runs one call and never throws: an unknown tool, a tool the agent may not use, arguments that are not
   * JSON or do not match the schema, a tool that threw or outlived `timeoutMs` all end as `ok: false` with
   * a message for the model. `signal` (the run's) aborts the tool too.
   */
  async execute(call: ToolCall, ctx: { agent: AgentDefinition; signal: AbortSignal; timeoutMs?: number }): Promise<ToolResult> {
    const fail = (error: string): ToolResult => ({ callId: call.id, name: call.name, ok: false, error });
    const entry = this.tools.get(call.name);
    if (!entry) return fail(`unknown tool "${call.name}"; available: ${ctx.agent.tools.filter((n) => this.tools.has(n)).join(', ') || 'none'}`);
    if (!ctx.agent.tools.includes(call.name)) return fail(`tool "${call.name}" is not allowed for agent "${ctx.agent.id}"`);
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (err) {
      return fail(`the arguments are not valid JSON (${err instanceof Error ? err.message : String(err)}); send one JSON object`);
    }
    if (!entry.validate(args)) return fail(`invalid arguments: ${describeErrors(entry.validate.errors)}`);
    if (args === null || typeof args !== 'object' || Array.isArray(args)) return fail('the arguments must be a JSON object');

    const timeoutMs = ctx.timeoutMs ?? DEFAULT_TOOL_TIMEOUT_MS;
    const own = new AbortController();
    const onRunAbort = () => own.abort(ctx.signal.reason);
    ctx.signal.addEventListener('abort', onRunAbort, { once: true });
    if (ctx.signal.aborted) onRunAbort();
    let timer: NodeJS.Timeout | undefined;
    // A tool that ignores its signal still loses the race: the call ends, the tool's late answer is dropped.
    const stopped = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new Error(`tool "${call.name}" timed out after ${timeoutMs} ms`);
        own.abort(error);
        reject(error);
      }, timeoutMs);
      own.signal.addEventListener('abort', () => reject(own.signal.reason instanceof Error ? own.signal.reason : new Error('cancelled')), { once: true });
    });
    stopped.catch(() => undefined);
    try {
      const content = await Promise.race([entry.tool.run(args as Record<string, unknown>, { agent: ctx.agent, signal: own.signal }), stopped]);
      return { callId: call.id, name: call.name, ok: true, content: truncate(String(content)) };
    } catch (err) {
      return fail(truncate(err instanceof Error ? err.message : String(err)));
    } finally {
      clearTimeout(timer);
      ctx.signal.removeEventListener('abort', onRunAbort);
    }
  }
}

function describeErrors(errors: ErrorObject[] | null | undefined): string {
  return (errors ?? []).map((e) => `${e.instancePath || '(arguments)'} ${e.message ?? 'is invalid'}`).join('; ') || 'does not match the schema';
}

function truncate(text: string): string {
  return text.length <= MAX_TOOL_RESULT_CHARS ? text : `${text.slice(0, MAX_TOOL_RESULT_CHARS)}\n[truncated: ${text.length - MAX_TOOL_RESULT_CHARS} more characters]`;
}
