import { MemoryErrorCodes, type MemoryFilter, type MemoryMetadata, type MetadataValue } from '@keelson/contracts';
import { memoryError } from './errors';

/** Stands for "never expires" in stores that filter on a number (no NULL handling in filters). */
export const NEVER_EXPIRES = 8_640_000_000_000_000;

/** One memory as a store keeps it. `tenant` is not a field: it is an argument of every call. */
export interface MemoryRecord {
  id: string;
  namespace: string;
  text: string;
  metadata: MemoryMetadata;
  vector: number[];
  /** Epoch milliseconds. */
  createdAt: number;
  /** Epoch milliseconds; absent: never. */
  expiresAt?: number;
}

export type StoredMemory = Omit<MemoryRecord, 'vector'>;
export interface ScoredMemory extends StoredMemory {
  /** Cosine similarity in [-1, 1]: 1 is the same direction. */
  score: number;
}

export type UpsertItemResult = { id: string; ok: true } | { id: string; ok: false; code: string; message: string; field?: string };

export interface SearchQuery {
  vector: number[];
  topK: number;
  namespace?: string;
  /** Metadata equality / membership; `userId` is a first-class column where the store has one. */
  filter?: MemoryFilter;
  minScore?: number;
  /** The query's text, for stores that can fuse keyword and vector scores (Weaviate hybrid). */
  text?: string;
  /** Ground truth for benchmarks: scan every vector, ignore any ANN index. */
  exact?: boolean;
}

export interface EraseSelector {
  /** Memories whose metadata.userId is this, or whose namespace is `user:<userId>`. */
  userId: string;
}

export interface CollectionInfo {
  embeddingModel: string;
  dimension: number;
}

/**
 * The vector-store port. Every call names the tenant; an adapter keeps tenants apart by construction
 * (a table or a Weaviate tenant each), so no filter can be forgotten. `kind` names the collection.
 */
export interface VectorStore {
  /** Creates the collection or checks it: another model or dimension than recorded is refused. */
  ensureCollection(kind: string, embeddingModel: string, dimension: number): Promise<CollectionInfo>;
  /** Insert or replace by id; one result per item, in order. A retried batch stores each item once. */
  upsert(tenant: string, kind: string, items: MemoryRecord[]): Promise<UpsertItemResult[]>;
  /** Best first; expired memories are never returned. */
  search(tenant: string, kind: string, query: SearchQuery): Promise<ScoredMemory[]>;
  get(tenant: string, kind: string, id: string): Promise<StoredMemory | undefined>;
  /** True when it existed. */
  delete(tenant: string, kind: string, id: string): Promise<boolean>;
  /** Right to erasure; returns how many were deleted. */
  deleteWhere(tenant: string, kind: string, selector: EraseSelector): Promise<number>;
  listNamespaces(tenant: string, kind: string): Promise<{ namespace: string; count: number }[]>;
  /** The tenants holding memories of this kind (for maintenance such as purging; never for serving reads). */
  tenants(kind: string): Promise<string[]>;
  /** Deletes expired memories (they are already invisible to reads); returns how many. */
  purgeExpired(tenant: string, kind: string, now?: number): Promise<number>;
  close(): Promise<void>;
}

/** The first problem with a record for a collection of `dimension`, or undefined. */
export function recordProblem(record: MemoryRecord, dimension: number): Exclude<UpsertItemResult, { ok: true }> | undefined {
  if (record.vector.length !== dimension) {
    return {
      id: record.id,
      ok: false,
      code: MemoryErrorCodes.vectorDimensionMismatch,
      message: `vector has ${record.vector.length} dimensions, the collection ${dimension}`,
      field: 'vector',
    };
  }
  if (!record.vector.every(Number.isFinite)) {
    return { id: record.id, ok: false, code: 'validation_failed', message: 'vector holds a value that is not a finite number', field: 'vector' };
  }
  return undefined;
}

export function checkCollection(kind: string, recorded: CollectionInfo, embeddingModel: string, dimension: number): void {
  if (recorded.embeddingModel !== embeddingModel || recorded.dimension !== dimension) {
    throw memoryError(
      409,
      MemoryErrorCodes.embeddingModelMismatch,
      `collection "${kind}" holds ${recorded.embeddingModel} vectors of ${recorded.dimension} dimensions; ` +
        `refusing ${embeddingModel} with ${dimension} (re-embed into a new kind instead of mixing)`,
      'embeddingModel',
    );
  }
}

const matchesValue = (actual: MetadataValue | undefined, expected: MetadataValue): boolean => actual === expected;

/** Does a memory's metadata satisfy the filter? Every key must match. */
export function matchesFilter(metadata: MemoryMetadata, filter: MemoryFilter | undefined): boolean {
  if (!filter) return true;
  for (const [key, condition] of Object.entries(filter)) {
    const actual = metadata[key];
    if (typeof condition === 'object') {
      if (!condition.in.some((v) => matchesValue(actual, v))) return false;
    } else if (!matchesValue(actual, condition)) return false;
  }
  return true;
}

export const isExpired = (m: { expiresAt?: number }, now: number): boolean => m.expiresAt !== undefined && m.expiresAt <= now;

/** SQL string literal for LanceDB (DataFusion) predicates: single quotes doubled. */
export const sqlString = (s: string): string => `'${s.replace(/'/g, "''")}'`;
