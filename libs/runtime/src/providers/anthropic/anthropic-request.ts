import type { ChatMessage } from '@keelson/contracts';
import type { ModelRequest } from '../../model/provider';

export interface AnthropicMessagesBody {
  model: string;
  max_tokens: number;
  system?: string;
  messages: { role: 'user' | 'assistant'; content: string }[];
  tools?: { name: string; description: string; input_schema: Record<string, unknown> }[];
  stream: true;
}

/**
 * The Messages API body for a request: system messages go to the top-level `system` (joined by blank
 * lines), and consecutive user or assistant messages are merged, since the API wants them alternating.
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
  if (req.tools?.length) {
    body.tools = req.tools.map((t) => ({ name: t.name, description: t.description, input_schema: t.parameters }));
  }
  return body;
}

function mergeTurns(messages: ChatMessage[]): AnthropicMessagesBody['messages'] {
  const turns: AnthropicMessagesBody['messages'] = [];
  for (const m of messages) {
    if (m.role === 'system') continue;
    const last = turns.at(-1);
    if (last?.role === m.role) last.content += `\n\n${m.content}`;
    else turns.push({ role: m.role, content: m.content });
  }
  return turns;
}
