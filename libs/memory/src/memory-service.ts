import { createHash, randomUUID } from 'node:crypto';
import {
  ErrorCodes,
  KeelsonError,
  MemoryErrorCodes,
  MemoryFilterSchema,
  MemoryItemSchema,
  MemorySearchRequestSchema,
  MEMORY_ID_PATTERN,
  MEMORY_KIND_PATTERN,
  memoryNamespaceOf,
  parseOrThrow,
  type MemoryFilter,
  type MemoryHit,
  type MemoryItemResult,
  type MemorySearchRequest,
  type MemoryView,
} from '@keelson/contracts';
import type { Embedder } from './embedder';
import { invalid, memoryError } from './errors';
import { extractMemories, type TurnForMemory } from './memory-policy';
import type { MemoryRecord, ScoredMemory, StoredMemory, VectorStore } from './vector-store';

export const DEFAULT_KIND = 'memory';

export interface MemoryServiceOptions {
  /** Kinds (collections) this service serves; the first is the default. Default ['memory']. */
  kinds?: string[];
  now?: () => number;
}

export interface RecallOptions {
  topK?: number;
  /** Tokens the memories may take, estimated at 4 characters each. */
  tokenBudget?: number;
  /** Latency budget; when it runs out the recall answers `late: true` with nothing. */
  timeoutMs?: number;
  minScore?: number;
}

export interface RecallResult {
  memories: MemoryHit[];
  /** True when the latency budget ran out: the turn goes on without memories, and says so. */
  late: boolean;
  tokens: number;
}

/** Tokens of a text, estimated at 4 characters per token (close for English with GPT-style tokenisers). */
export const estimateTokens = (text: string): number => Math.ceil(text.length / 4);

/**
 * Long-term memory, framework-free: validates input (typed KeelsonErrors naming the field), embeds,
 * stores through a VectorStore, searches with scores, recalls for a turn within a token and a latency
 * budget, and turns a finished turn into stored facts (extractMemories).
 */
export class MemoryService {
  private readonly kinds: string[];
  private readonly now: () => number;
  private ready?: Promise<void>;

  constructor(
    private readonly store: VectorStore,
    private readonly embedder: Embedder,
    options: MemoryServiceOptions = {},
  ) {
    this.kinds = options.kinds?.length ? options.kinds : [DEFAULT_KIND];
    for (const k of this.kinds) if (!MEMORY_KIND_PATTERN.test(k)) throw new Error(`memory kind "${k}" must match ${MEMORY_KIND_PATTERN}`);
    this.now = options.now ?? Date.now;
  }

  /** Records (or checks) the embedding model and dimension of every kind; a mismatch throws. */
  init(): Promise<void> {
    this.ready ??= (async () => {
      for (const kind of this.kinds) await this.store.ensureCollection(kind, this.embedder.model, this.embedder.dimension);
    })();
    this.ready.catch(() => (this.ready = undefined));
    return this.ready;
  }

  get embeddingModel(): string {
    return this.embedder.model;
  }

  private kindOf(kind: string | undefined, field = 'kind'): string {
    const k = kind ?? this.kinds[0]!;
    if (!this.kinds.includes(k)) throw invalid(field, `unknown kind "${k}"; this service keeps ${this.kinds.join(', ')}`);
    return k;
  }

  /**
   * Stores a batch. Each item is validated on its own: a bad item is reported at its index with the field
   * at fault and the rest are stored. Items without an id get a new one; give ids to make retries safe.
   */
  async upsert(tenant: string, rawItems: unknown[]): Promise<MemoryItemResult[]> {
    await this.init();
    const results: MemoryItemResult[] = new Array(rawItems.length);
    const byKind = new Map<string, { index: number; record: MemoryRecord }[]>();
    const now = this.now();
    rawItems.forEach((raw, index) => {
      try {
        const item = parseOrThrow(MemoryItemSchema, raw, `items[${index}]`);
        const kind = this.kindOf(item.kind, `items[${index}].kind`);
        const record: MemoryRecord = {
          id: item.id ?? newMemoryId(),
          namespace: item.namespace,
          text: item.text,
          metadata: item.metadata ?? {},
          vector: [],
          createdAt: now,
        };
        if (item.ttlSeconds !== undefined) record.expiresAt = now + item.ttlSeconds * 1_000;
        const list = byKind.get(kind) ?? [];
        list.push({ index, record });
        byKind.set(kind, list);
      } catch (err) {
        if (!(err instanceof KeelsonError)) throw err;
        const id = (raw as { id?: unknown } | null)?.id;
        results[index] = {
          index,
          ok: false,
          ...(typeof id === 'string' ? { id } : {}),
          code: err.code,
          message: err.message,
          ...(err.field !== undefined ? { field: err.field } : {}),
        };
      }
    });
    for (const [kind, entries] of byKind) {
      let vectors: number[][];
      try {
        vectors = await this.embedder.embed(entries.map((e) => e.record.text));
      } catch (err) {
        const e = err instanceof KeelsonError ? err : memoryError(503, MemoryErrorCodes.embeddingsUnavailable, (err as Error).message);
        for (const { index, record } of entries) results[index] = { index, ok: false, id: record.id, code: e.code, message: e.message };
        continue;
      }
      entries.forEach((e, i) => (e.record.vector = vectors[i]!));
      const stored = await this.store.upsert(tenant, kind, entries.map((e) => e.record));
      stored.forEach((r, i) => {
        const index = entries[i]!.index;
        results[index] = r.ok
          ? { index, ok: true, id: r.id }
          : { index, ok: false, id: r.id, code: r.code, message: r.message, ...(r.field !== undefined ? { field: r.field } : {}) };
      });
    }
    return results;
  }

  /** One memory; throws the item's error when it fails. */
  async create(tenant: string, raw: unknown): Promise<string> {
    const [result] = await this.upsert(tenant, [raw]);
    if (!result!.ok) {
      const field = result!.field?.replace(/^items\[0\]\.?/, '') || undefined;
      const message = result!.message.replace(/^items\[0\]\.?/, '');
      throw memoryError(result!.code === ErrorCodes.validationFailed ? 400 : statusOf(result!.code), result!.code as never, message, field);
    }
    return result!.id;
  }

  async search(tenant: string, raw: MemorySearchRequest | unknown): Promise<MemoryHit[]> {
    await this.init();
    const request = parseOrThrow(MemorySearchRequestSchema, raw);
    const kind = this.kindOf(request.kind);
    const filter = parseFilter(request.filter);
    const [vector] = await this.embedder.embed([request.query]);
    const hits = await this.store.search(tenant, kind, {
      vector: vector!,
      topK: request.topK,
      text: request.query,
      ...(request.namespace !== undefined ? { namespace: request.namespace } : {}),
      ...(filter !== undefined ? { filter } : {}),
      ...(request.minScore !== undefined ? { minScore: request.minScore } : {}),
    });
    return hits.map((h) => toHit(kind, h));
  }

  async get(tenant: string, id: string, kind?: string): Promise<MemoryView> {
    const k = this.kindOf(kind);
    const memory = await this.store.get(tenant, k, checkId(id));
    if (!memory) throw memoryError(404, MemoryErrorCodes.memoryNotFound, `no memory "${id}"`, 'id');
    return toView(k, memory);
  }

  async delete(tenant: string, id: string, kind?: string): Promise<boolean> {
    return this.store.delete(tenant, this.kindOf(kind), checkId(id));
  }

  /** Right to erasure: every memory of the user, in every kind. Gone from search as soon as this returns. */
  async eraseUser(tenant: string, userId: string): Promise<number> {
    if (!/^[A-Za-z0-9_-]{1,128}$/.test(userId)) throw invalid('userId', 'expected 1-128 characters of A-Z a-z 0-9 _ -');
    let deleted = 0;
    for (const kind of this.kinds) deleted += await this.store.deleteWhere(tenant, kind, { userId });
    return deleted;
  }

  async listNamespaces(tenant: string, kind?: string): Promise<{ kind: string; namespace: string; count: number }[]> {
    const kinds = kind === undefined ? this.kinds : [this.kindOf(kind)];
    const out: { kind: string; namespace: string; count: number }[] = [];
    for (const k of kinds) for (const n of await this.store.listNamespaces(tenant, k)) out.push({ kind: k, ...n });
    return out;
  }

  /** Purges expired memories of every tenant and kind; returns how many were deleted. */
  async purgeAllExpired(): Promise<number> {
    let purged = 0;
    for (const kind of this.kinds) {
      for (const tenant of await this.store.tenants(kind)) purged += await this.store.purgeExpired(tenant, kind, this.now());
    }
    return purged;
  }

  async purgeExpired(tenant: string): Promise<number> {
    let purged = 0;
    for (const kind of this.kinds) purged += await this.store.purgeExpired(tenant, kind, this.now());
    return purged;
  }

  /**
   * The memories to put into an agent's context before a turn: the user's (namespace `user:<userId>`),
   * best first, as many as fit `tokenBudget`. If the search does not finish within `timeoutMs` the answer
   * is `late: true` with no memories: the turn must not wait for memory.
   */
  async recallForTurn(tenant: string, userId: string, query: string, options: RecallOptions = {}): Promise<RecallResult> {
    const topK = options.topK ?? 5;
    const budget = options.tokenBudget ?? 500;
    const timeoutMs = options.timeoutMs ?? 250;
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)));
    const searching = this.search(tenant, {
      query,
      namespace: memoryNamespaceOf('user', userId),
      topK,
      minScore: options.minScore ?? 0.05,
    });
    searching.catch(() => undefined);
    try {
      const outcome = await Promise.race([searching, late]);
      if (outcome === 'late') return { memories: [], late: true, tokens: 0 };
      const memories: MemoryHit[] = [];
      let tokens = 0;
      for (const hit of outcome) {
        const cost = estimateTokens(hit.text);
        if (tokens + cost > budget) continue;
        memories.push(hit);
        tokens += cost;
      }
      return { memories, late: false, tokens };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The memory policy after a turn: the facts the user stated (extractMemories) go to `user:<userId>`,
   * each with an id derived from tenant, user and text, so the same fact said twice (or a redelivered
   * write) is stored once.
   */
  async rememberTurn(tenant: string, userId: string, turn: TurnForMemory, extra: { sessionId?: string; agentId?: string } = {}): Promise<MemoryItemResult[]> {
    const facts = extractMemories(turn);
    if (facts.length === 0) return [];
    return this.upsert(
      tenant,
      facts.map((text) => ({
        id: factId(tenant, userId, text),
        namespace: memoryNamespaceOf('user', userId),
        text,
        metadata: { userId, source: 'turn', ...(extra.sessionId ? { sessionId: extra.sessionId } : {}), ...(extra.agentId ? { agentId: extra.agentId } : {}) },
      })),
    );
  }
}

export const newMemoryId = (): string => `mem_${randomUUID().replace(/-/g, '')}`;

export function factId(tenant: string, userId: string, text: string): string {
  return `mem_${createHash('sha256').update(`${tenant}\n${userId}\n${text.toLowerCase()}`).digest('hex').slice(0, 32)}`;
}

function checkId(id: string): string {
  if (!MEMORY_ID_PATTERN.test(id)) throw invalid('id', 'expected 1-128 characters of A-Z a-z 0-9 _ -');
  return id;
}

/** A filter that is not an object of metadata keys to scalars or `{in: [...]}` is refused with the key named. */
export function parseFilter(raw: unknown): MemoryFilter | undefined {
  if (raw === undefined || raw === null) return undefined;
  const result = MemoryFilterSchema.safeParse(raw);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  const field = ['filter', ...issue.path.map(String)].join('.');
  throw memoryError(400, MemoryErrorCodes.invalidFilter, `${field}: ${issue.message}`, field);
}

function statusOf(code: string): number {
  if (code === MemoryErrorCodes.embeddingsUnavailable || code === 'unavailable') return 503;
  if (code === MemoryErrorCodes.embeddingModelMismatch) return 409;
  return 400;
}

function toView(kind: string, m: StoredMemory): MemoryView {
  return {
    id: m.id,
    kind,
    namespace: m.namespace,
    text: m.text,
    metadata: m.metadata,
    createdAt: new Date(m.createdAt).toISOString(),
    ...(m.expiresAt !== undefined ? { expiresAt: new Date(m.expiresAt).toISOString() } : {}),
  };
}

const toHit = (kind: string, m: ScoredMemory): MemoryHit => ({ ...toView(kind, m), score: m.score });
