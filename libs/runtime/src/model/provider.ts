import type { ChatMessage, FinishReason, Usage } from '@keelson/contracts';

/** A tool the model may call; `parameters` is a JSON Schema object, as the major model APIs take it. */
export interface ToolSpec {
  name: string;
  description: string;
  parameters: Record<string, unknown>;
}

export interface ModelRequest {
  model: string;
  messages: ChatMessage[];
  tools?: ToolSpec[];
  maxOutputTokens?: number;
  /** The agent's `model.temperature`; unset leaves the provider's default. */
  temperature?: number;
}

/**
 * What a provider streams. Text arrives as deltas; a tool call arrives as fragments of its JSON arguments
 * under one `id` (providers stream those too); `usage` and then `finish` close the stream.
 */
export type ModelChunk =
  | { type: 'text'; text: string }
  | { type: 'tool_call'; id: string; name: string; argumentsDelta: string }
  | { type: 'usage'; usage: Usage }
  | { type: 'finish'; reason: FinishReason };

/**
 * A model back-end. Streaming-first: a non-streaming API is a stream of one text chunk. A provider should end
 * with `finish: 'cancelled'` when `signal` aborts, and throw for failures (runAgent maps them to RunError).
 */
export interface ModelProvider {
  readonly name: string;
  stream(req: ModelRequest, signal?: AbortSignal): AsyncIterable<ModelChunk>;
}

/** Providers by name, the `model.provider` of an agent definition. */
export class ProviderRegistry {
  private readonly providers = new Map<string, ModelProvider>();

  constructor(providers: Iterable<ModelProvider> = []) {
    for (const provider of providers) this.register(provider);
  }

  register(provider: ModelProvider): this {
    if (this.providers.has(provider.name)) throw new Error(`model provider "${provider.name}" is already registered`);
    this.providers.set(provider.name, provider);
    return this;
  }

  get(name: string): ModelProvider | undefined {
    return this.providers.get(name);
  }

  names(): string[] {
    return [...this.providers.keys()];
  }
}
