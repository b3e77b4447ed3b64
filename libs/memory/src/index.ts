export * from './embedder';
export * from './errors';
export * from './offline-embedder';
export * from './openai-embeddings';
export * from './vector-store';
export * from './lancedb-store';
export * from './memory-policy';
export * from './memory-service';
