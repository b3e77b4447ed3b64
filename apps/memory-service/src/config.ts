import { baseServiceConfig, integer, loadConfig, port } from '@keelson/config';
import { MEMORY_KIND_PATTERN } from '@keelson/contracts';
import { join } from 'node:path';
import { z } from 'zod';

const httpUrl = z.string().url('expected an http(s) URL').refine((u) => /^https?:\/\//.test(u), 'expected an http(s) URL');

/** memory-service holds no Redis state, so REDIS_URL is not one of its settings. */
export const memoryServiceConfigSchema = baseServiceConfig
  .omit({ REDIS_URL: true })
  .extend({
    ...port('HEALTH_PORT', 8083),
    HOST: z.string().min(1).default('127.0.0.1'),
    /** `lancedb`: embedded, on disk under MEMORY_DATA_DIR (the default). `weaviate`: WEAVIATE_URL. */
    MEMORY_STORE: z.enum(['lancedb', 'weaviate'], { error: 'expected lancedb or weaviate' }).default('lancedb'),
    KEELSON_DATA_DIR: z.string().min(1).optional(),
    /** Default `<KEELSON_DATA_DIR or .keelson>/memory`. */
    MEMORY_DATA_DIR: z.string().min(1).optional(),
    /** Rows in a tenant's LanceDB table from which an ANN index is built; exact search below. */
    MEMORY_ANN_THRESHOLD: integer(5_000, 256),
    /** Comma-separated memory kinds (collections); the first is the default. */
    MEMORY_KINDS: z
      .string()
      .default('memory')
      .transform((s) => s.split(',').map((k) => k.trim()))
      .refine((ks) => ks.every((k) => MEMORY_KIND_PATTERN.test(k)), 'expected comma-separated kinds such as memory,fact'),
    WEAVIATE_URL: httpUrl.optional(),
    WEAVIATE_API_KEY_FILE: z.string().min(1).optional(),
    /** Weaviate only: a value in (0, 1) turns on hybrid search (BM25 fused with the vector, this the vector's weight). */
    WEAVIATE_HYBRID_ALPHA: z
      .string()
      .regex(/^0?\.\d+$/, 'expected a number between 0 and 1 exclusive, such as 0.75')
      .transform(Number)
      .refine((n) => n > 0 && n < 1, 'expected a number between 0 and 1 exclusive, such as 0.75')
      .optional(),
    /** `offline`: lexical feature hashing, no download (see docs/memory.md). `openai`: an OpenAI-compatible /v1/embeddings. */
    EMBEDDINGS_PROVIDER: z.enum(['offline', 'openai'], { error: 'expected offline or openai' }).default('offline'),
    EMBEDDINGS_BASE_URL: httpUrl.default('https://api.openai.com/v1'),
    EMBEDDINGS_MODEL: z.string().min(1).default('text-embedding-3-small'),
    /** The model's vector length; default 1536 for openai, 384 for offline. */
    EMBEDDINGS_DIMENSION: integer(0, 0, 65_536),
    EMBEDDINGS_API_KEY_FILE: z.string().min(1).optional(),
    /** How often expired memories are deleted for good (they are never returned either way); 0 turns it off. */
    MEMORY_PURGE_INTERVAL_MS: integer(600_000, 0),
    /** Async memory writes handled at once by this replica. */
    WRITE_CONCURRENCY: integer(8, 1, 256),
  })
  .superRefine((c, ctx) => {
    if (c.MEMORY_STORE === 'weaviate' && !c.WEAVIATE_URL) {
      ctx.addIssue({ code: 'custom', path: ['WEAVIATE_URL'], message: 'required when MEMORY_STORE=weaviate' });
    }
    if (c.EMBEDDINGS_PROVIDER === 'openai' && !c.EMBEDDINGS_API_KEY_FILE && /api\.openai\.com/.test(c.EMBEDDINGS_BASE_URL)) {
      ctx.addIssue({ code: 'custom', path: ['EMBEDDINGS_API_KEY_FILE'], message: 'required for api.openai.com (a file holding the key)' });
    }
  });
export type MemoryServiceConfig = z.infer<typeof memoryServiceConfigSchema>;

export const loadMemoryServiceConfig = (env: NodeJS.ProcessEnv = process.env): MemoryServiceConfig =>
  loadConfig(memoryServiceConfigSchema, env);

export const memoryDataDir = (config: Pick<MemoryServiceConfig, 'MEMORY_DATA_DIR' | 'KEELSON_DATA_DIR'>): string =>
  config.MEMORY_DATA_DIR ?? join(config.KEELSON_DATA_DIR ?? '.keelson', 'memory');
