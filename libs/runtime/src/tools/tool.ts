import type { AgentDefinition } from '../agents/agent-definition';

/** What a tool is given besides its arguments: the run's signal (cancel, timeout) and the agent it serves. */
export interface ToolContext {
  signal: AbortSignal;
  agent: AgentDefinition;
}

/**
 * A tool an agent may call. `parameters` is the JSON Schema of its arguments object, sent to the model and
 * checked (with ajv) before `run` is called, so `run` gets arguments that match it. `run` returns the text
 * given back to the model; throwing makes the call a failed result (ok: false) with the error's message.
 */
export interface Tool {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
  run(args: Record<string, unknown>, ctx: ToolContext): Promise<string>;
}

/** How one tool call ended, as the model is told and the run log records it. */
export type ToolResult = { callId: string; name: string; ok: true; content: string } | { callId: string; name: string; ok: false; error: string };
