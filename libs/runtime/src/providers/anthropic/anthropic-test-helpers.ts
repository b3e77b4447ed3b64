import type { ModelChunk, ModelProvider, ModelRequest } from '../../model/provider';
import { AnthropicProvider, type AnthropicProviderOptions } from './anthropic-provider';

export const TEST_KEY = 'sk-ant-test-SECRET-0123456789';

export const hello: ModelRequest = { model: 'claude-test', messages: [{ role: 'user', content: 'hi' }], maxOutputTokens: 64 };

/** A provider on the fake's base URL with the test key and short retry waits. */
export function providerFor(baseUrl: string, options: Partial<AnthropicProviderOptions> = {}): AnthropicProvider {
  return new AnthropicProvider({ baseUrl, apiKey: () => TEST_KEY, retryBaseMs: 1, ...options });
}

/** Every chunk the provider streams, in order. */
export async function collect(provider: ModelProvider, req: ModelRequest = hello, signal?: AbortSignal): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of provider.stream(req, signal)) chunks.push(chunk);
  return chunks;
}

/** The chunks yielded before the stream threw, and what it threw. */
export async function collectUntilError(provider: ModelProvider, req: ModelRequest = hello): Promise<{ chunks: ModelChunk[]; error: unknown }> {
  const chunks: ModelChunk[] = [];
  try {
    for await (const chunk of provider.stream(req)) chunks.push(chunk);
  } catch (error) {
    return { chunks, error };
  }
  throw new Error(`expected the stream to throw; it ended with ${JSON.stringify(chunks.at(-1))}`);
}
