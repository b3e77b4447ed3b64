import { secretFromFile } from '@keelson/config';
import { LanceDbStore, OfflineEmbedder, OpenAIEmbeddings, WeaviateStore, type Embedder, type VectorStore } from '@keelson/memory';
import { memoryDataDir, type MemoryServiceConfig } from '../config';

/** The vector store and embedder this configuration names. */
export function createBackend(config: MemoryServiceConfig): { store: VectorStore; embedder: Embedder; describe: string } {
  const embedder: Embedder =
    config.EMBEDDINGS_PROVIDER === 'openai'
      ? new OpenAIEmbeddings({
          baseUrl: config.EMBEDDINGS_BASE_URL,
          model: config.EMBEDDINGS_MODEL,
          dimension: config.EMBEDDINGS_DIMENSION || 1536,
          ...(config.EMBEDDINGS_API_KEY_FILE ? { apiKey: secretFromFile(config.EMBEDDINGS_API_KEY_FILE) } : {}),
        })
      : new OfflineEmbedder({ dimension: config.EMBEDDINGS_DIMENSION || 384 });
  if (config.MEMORY_STORE === 'weaviate') {
    const store = new WeaviateStore({
      url: config.WEAVIATE_URL!,
      ...(config.WEAVIATE_API_KEY_FILE ? { apiKey: secretFromFile(config.WEAVIATE_API_KEY_FILE) } : {}),
      ...(config.WEAVIATE_HYBRID_ALPHA !== undefined ? { hybridAlpha: config.WEAVIATE_HYBRID_ALPHA } : {}),
    });
    return { store, embedder, describe: `weaviate at ${config.WEAVIATE_URL}` };
  }
  const dataDir = memoryDataDir(config);
  return { store: new LanceDbStore({ dataDir, annThreshold: config.MEMORY_ANN_THRESHOLD }), embedder, describe: `lancedb in ${dataDir}` };
}
