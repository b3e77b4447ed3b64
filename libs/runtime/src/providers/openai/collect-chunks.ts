import type { ModelChunk, ModelProvider, ModelRequest } from '../../model/provider';

/** Test helper: every chunk of one provider stream. */
export async function collectChunks(provider: ModelProvider, req: ModelRequest, signal?: AbortSignal): Promise<ModelChunk[]> {
  const chunks: ModelChunk[] = [];
  for await (const chunk of provider.stream(req, signal)) chunks.push(chunk);
  return chunks;
}
