import type { ChatMessage } from '@keelson/contracts';
import type { ModelRequest } from '../../model/provider';

/** Content blocks this provider sends: text, the assistant's tool calls and the user's tool results. */
export type AnthropicBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: Record<string, unknown> }
  | { type: 'tool_result'; tool_use_id: string; content: string; is_error?: boolean };

export interface AnthropicTurn {
  role: 'user' | 'assistant';
  content: string | AnthropicBlock[];
}

export interface AnthropicMessagesBody {
  model: string;
  max_tokens: number;
  system?: string;
  messages: AnthropicTurn[];
  tools?: { name: string; description: string; input_schema: Record<string, unknown> }[];
  temperature?: number;
  stream: true;
}

/**
 * The Messages API body for a request: system messages go to the top-level `system` (joined by blank
 * lines), and consecutive user or assistant messages are merged, since the API wants them alternating.
 * An assistant turn's tool calls become `tool_use` blocks (input: the parsed arguments); tool results
 * become `tool_result` blocks of a user turn, the results of one step merged into one turn.
 */
export function toMessagesBody(req: ModelRequest, defaultMaxTokens: number): AnthropicMessagesBody {
  const system = req.messages.filter((m) => m.role === 'system').map((m) => m.content);
  const body: AnthropicMessagesBody = {
    model: req.model,
    max_tokens: req.maxOutputTokens ?? defaultMaxTokens,
    messages: mergeTurns(req.messages),
    stream: true,
  };
  if (system.length > 0) body.system = system.join('\n\n');
  // Anthropic takes 0 to 1; an agent's 1 to 2 (OpenAI's range) is sent as 1, its most random.
  if (req.temperature !== undefined) body.temperature = Math.min(1, req.temperature);
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  }
  return body;
}

function mergeTurns(messages: ChatMessage[]): AnthropicTurn[] {
  const turns: AnthropicTurn[] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const turn = toTurn(m);
    const last = turns.at(-1);
    if (last?.role !== turn.role) turns.push(turn);
    else if (typeof last.content === 'string' && typeof turn.content === 'string') last.content += `\n\n${turn.content}`;
    else last.content = [...blocks(last.content), ...blocks(turn.content)];
  }
  return turns;
}

/** One non-system message as a turn (system messages went to `system`). */
function toTurn(m: ChatMessage): AnthropicTurn {
  if (m.role === 'tool') {
    const result: AnthropicBlock = { type: 'tool_result', tool_use_id: m.toolCallId, content: m.content };
    if (m.isError) result.is_error = true;
    return { role: 'user', content: [result] };
  }
  if (m.role === 'assistant' && 'toolCalls' in m && m.toolCalls.length > 0) {
    const uses: AnthropicBlock[] = m.toolCalls.map((c) => ({ type: 'tool_use', id: c.id, name: c.name, input: parseInput(c.arguments) }));
    return { role: 'assistant', content: m.content ? [{ type: 'text', text: m.content }, ...uses] : uses };
  }
  return { role: m.role === 'assistant' ? 'assistant' : 'user', content: m.content };
}

function blocks(content: string | AnthropicBlock[]): AnthropicBlock[] {
  if (typeof content !== 'string') return content;
  return content === '' ? [] : [{ type: 'text', text: content }];
}

/**
 * A call's arguments as the object `input` must be. Arguments that are not a JSON object (the model's
 * mistake, already answered with an error result) are sent as {}: the API refuses anything else.
 */
function parseInput(args: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(args);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}
