import type { ChatMessage } from '@keelson/contracts';

/** A tool offered to the model, as the runtime's ToolSpec has it (only what cost control reads). */
export interface OfferedTool {
  name: string;
  description?: string;
  parameters?: Record<string, unknown>;
}

/**
 * The model request as cost control sees it: structurally the runtime's ModelRequest plus the provider and
 * sampling settings, so this lib never imports the runtime (the runtime imports it).
 */
export interface CostRequest {
  provider: string;
  model: string;
  messages: readonly ChatMessage[];
  tools?: readonly OfferedTool[];
  maxOutputTokens?: number;
  /** Unset means the provider's default, which is 1 (random) for OpenAI and Anthropic. */
  temperature?: number;
  topP?: number;
}

/** The text of a message as a tokenizer sees it: content, plus tool-call names and arguments. */
export function messageText(message: ChatMessage): string {
  if ('toolCalls' in message) return [message.content, ...message.toolCalls.map((c) => `${c.name}${c.arguments}`)].join('\n');
  return message.content;
}
