import type * as WeaviateTs from 'weaviate-ts-client';
import type { WeaviateClass, WeaviateClient, WhereFilter } from 'weaviate-ts-client';
import {
  checkCollection,
  matchesFilter,
  NEVER_EXPIRES,
  recordProblem,
  type CollectionInfo,
  type EraseSelector,
  type MemoryRecord,
  type ScoredMemory,
  type SearchQuery,
  type StoredMemory,
  type UpsertItemResult,
  type VectorStore,
} from './vector-store';

/*
 * Loaded on first use, not at import (as LanceDB is): every service imports @keelson/memory, but only a
 * memory-service configured with MEMORY_STORE=weaviate talks to Weaviate, and the client brings graphql and
 * its HTTP stack (about 220 modules, 18 MB resident, docs/benchmarks.md "Memory at rest").
 */
let weaviateModule: typeof WeaviateTs | undefined;
const weaviateTs = (): typeof WeaviateTs => (weaviateModule ??= require('weaviate-ts-client') as typeof WeaviateTs);

export interface WeaviateStoreOptions {
  /** `http://weaviate:8080`. */
  url: string;
  /** Read once, when the client is first needed. */
  apiKey?: () => Promise<string>;
  /**
   * With a value in (0, 1), a search that carries its query text runs Weaviate's hybrid search (BM25 on
   * `text` fused with the vector, `alpha` the vector's weight), and the score is the fused score. Unset:
   * pure nearVector, score = 1 - cosine distance. Hybrid helps exact names and rare words that the
   * embedding blurs; its fused score is not a cosine similarity, so minScore means something else then.
   */
  hybridAlpha?: number;
  now?: () => number;
}

const DESCRIPTION_PREFIX = 'keelson memory;';
const FIELDS = 'memoryId namespace text metadataJson userId createdAt expiresAt';

interface ObjectProps {
  memoryId: string;
  namespace: string;
  text: string;
  metadataJson: string;
  userId: string;
  createdAt: number;
  expiresAt: number;
}
type GetResult = ObjectProps & { _additional?: { id?: string; distance?: number; certainty?: number; score?: string | number } };

/**
 * The production store: Weaviate through weaviate-ts-client 2.2. One class per memory kind
 * (`Keelson_<kind>`), multi-tenancy on, one Weaviate tenant per Keelson tenant, so a tenant's objects sit
 * in their own shard and no query reaches another's. The embedding model and dimension are recorded in the
 * class description and checked on every start. Objects are written with batch imports (per-object
 * results); object ids are UUIDv5 of the memory id, so a retried batch replaces instead of duplicating.
 * Namespace, userId and expiry are where-filters inside Weaviate; other metadata (kept as a JSON text
 * property) is filtered after the search over a widened candidate set, as in the LanceDB adapter.
 */
export class WeaviateStore implements VectorStore {
  private client?: Promise<WeaviateClient>;
  private readonly collections = new Map<string, CollectionInfo>();
  private readonly knownTenants = new Map<string, Set<string>>();
  private readonly now: () => number;

  constructor(private readonly options: WeaviateStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  static className(kind: string): string {
    return `Keelson_${kind}`;
  }

  private weaviate(): Promise<WeaviateClient> {
    this.client ??= (async () => {
      const url = new URL(this.options.url);
      const key = this.options.apiKey ? await this.options.apiKey() : undefined;
      return weaviateTs().default.client({
        scheme: url.protocol.replace(':', ''),
        host: url.host,
        ...(key ? { apiKey: new (weaviateTs().ApiKey)(key) } : {}),
      });
    })();
    this.client.catch(() => (this.client = undefined));
    return this.client;
  }

  async ensureCollection(kind: string, embeddingModel: string, dimension: number): Promise<CollectionInfo> {
    const client = await this.weaviate();
    const className = WeaviateStore.className(kind);
    let existing: WeaviateClass | undefined;
    try {
      existing = await client.schema.classGetter().withClassName(className).do();
    } catch (err) {
      if (!isStatus(err, 404)) throw err;
    }
    if (existing) {
      const recorded = parseDescription(existing.description);
      if (!recorded) throw new Error(`Weaviate class ${className} exists but was not created by Keelson (no model recorded)`);
      checkCollection(kind, recorded, embeddingModel, dimension);
      this.collections.set(kind, recorded);
      return recorded;
    }
    const info = { embeddingModel, dimension };
    await client.schema
      .classCreator()
      .withClass({
        class: className,
        description: `${DESCRIPTION_PREFIX}model=${embeddingModel};dimension=${dimension}`,
        vectorizer: 'none',
        vectorIndexConfig: { distance: 'cosine' },
        multiTenancyConfig: { enabled: true },
        properties: [
          { name: 'memoryId', dataType: ['text'], tokenization: 'field', indexSearchable: false },
          { name: 'namespace', dataType: ['text'], tokenization: 'field', indexSearchable: false },
          { name: 'text', dataType: ['text'], tokenization: 'word' },
          { name: 'metadataJson', dataType: ['text'], indexFilterable: false, indexSearchable: false },
          { name: 'userId', dataType: ['text'], tokenization: 'field', indexSearchable: false },
          { name: 'createdAt', dataType: ['number'] },
          { name: 'expiresAt', dataType: ['number'] },
        ],
      })
      .do();
    this.collections.set(kind, info);
    return info;
  }

  private collection(kind: string): CollectionInfo {
    const info = this.collections.get(kind);
    if (!info) throw new Error(`collection "${kind}" is not set up: call ensureCollection first`);
    return info;
  }

  /** Whether the Weaviate tenant exists; with `create`, makes it so. Known tenants are cached. */
  private async hasTenant(kind: string, tenant: string, create: boolean): Promise<boolean> {
    const className = WeaviateStore.className(kind);
    const known = this.knownTenants.get(className) ?? new Set<string>();
    this.knownTenants.set(className, known);
    if (known.has(tenant)) return true;
    const client = await this.weaviate();
    const existing = await client.schema.tenantsGetter(className).do();
    for (const t of existing) if (t.name) known.add(t.name);
    if (known.has(tenant)) return true;
    if (!create) return false;
    await client.schema.tenantsCreator(className, [{ name: tenant }]).do();
    known.add(tenant);
    return true;
  }

  async upsert(tenant: string, kind: string, items: MemoryRecord[]): Promise<UpsertItemResult[]> {
    const { dimension } = this.collection(kind);
    const results: UpsertItemResult[] = items.map((item) => recordProblem(item, dimension) ?? { id: item.id, ok: true });
    const positions = items.map((_, i) => i).filter((i) => results[i]!.ok);
    if (positions.length === 0) return results;
    const className = WeaviateStore.className(kind);
    try {
      await this.hasTenant(kind, tenant, true);
      const client = await this.weaviate();
      const objects = positions.map((i) => {
        const m = items[i]!;
        return { class: className, id: weaviateTs().generateUuid5(m.id), tenant, vector: m.vector, properties: toProps(m) as unknown as Record<string, unknown> };
      });
      const answers = await client.batch.objectsBatcher().withObjects(...objects).do();
      positions.forEach((itemIndex, k) => {
        const errors = answers[k]?.result?.errors?.error;
        if (errors && errors.length > 0) {
          results[itemIndex] = { id: items[itemIndex]!.id, ok: false, code: 'unavailable', message: errors.map((e) => e.message).join('; ') };
        }
      });
    } catch (err) {
      const message = `the store refused the batch: ${(err as Error).message}`;
      for (const i of positions) results[i] = { id: items[i]!.id, ok: false, code: 'unavailable', message };
    }
    return results;
  }

  async search(tenant: string, kind: string, query: SearchQuery): Promise<ScoredMemory[]> {
    if (!(await this.hasTenant(kind, tenant, false))) return [];
    const client = await this.weaviate();
    const className = WeaviateStore.className(kind);
    const extraFilter = query.filter && Object.keys(query.filter).some((k) => k !== 'userId');
    const alpha = this.options.hybridAlpha;
    const hybrid = alpha !== undefined && alpha > 0 && alpha < 1 && !!query.text && !query.exact;
    const run = async (limit: number) => {
      let q = client.graphql.get().withClassName(className).withTenant(tenant).withWhere(this.readableWhere(query)).withLimit(limit);
      if (hybrid) {
        q = q.withHybrid({ query: query.text!, vector: query.vector, alpha: alpha!, properties: ['text'] }).withFields(`${FIELDS} _additional { id score }`);
      } else {
        q = q.withNearVector({ vector: query.vector }).withFields(`${FIELDS} _additional { id distance }`);
      }
      const response = (await q.do()) as { data?: { Get?: Record<string, GetResult[] | null> } };
      return response.data?.Get?.[className] ?? [];
    };
    let rows = await run(extraFilter ? query.topK * 20 : query.topK);
    let hits = rows.map((r) => fromResult(r, hybrid)).filter((m) => matchesFilter(m.metadata, query.filter));
    if (extraFilter && hits.length < query.topK && rows.length === query.topK * 20) {
      rows = await run(10_000);
      hits = rows.map((r) => fromResult(r, hybrid)).filter((m) => matchesFilter(m.metadata, query.filter));
    }
    return hits
      .filter((h) => query.minScore === undefined || h.score >= query.minScore)
      .sort((a, b) => b.score - a.score)
      .slice(0, query.topK);
  }

  private readableWhere(query: Pick<SearchQuery, 'namespace' | 'filter'>): WhereFilter {
    const operands: WhereFilter[] = [{ path: ['expiresAt'], operator: 'GreaterThan', valueNumber: this.now() }];
    if (query.namespace !== undefined) operands.push({ path: ['namespace'], operator: 'Equal', valueText: query.namespace });
    const userId = query.filter?.['userId'];
    if (typeof userId === 'string') operands.push({ path: ['userId'], operator: 'Equal', valueText: userId });
    else if (typeof userId === 'object' && userId.in.every((v) => typeof v === 'string')) {
      operands.push({ path: ['userId'], operator: 'ContainsAny', valueTextArray: userId.in as string[] });
    }
    return operands.length === 1 ? operands[0]! : { operator: 'And', operands };
  }

  async get(tenant: string, kind: string, id: string): Promise<StoredMemory | undefined> {
    if (!(await this.hasTenant(kind, tenant, false))) return undefined;
    const client = await this.weaviate();
    try {
      const object = await client.data
        .getterById()
        .withClassName(WeaviateStore.className(kind))
        .withId(weaviateTs().generateUuid5(id))
        .withTenant(tenant)
        .do();
      const memory = fromProps(object.properties as unknown as ObjectProps);
      return memory.expiresAt !== undefined && memory.expiresAt <= this.now() ? undefined : memory;
    } catch (err) {
      if (isStatus(err, 404)) return undefined;
      throw err;
    }
  }

  async delete(tenant: string, kind: string, id: string): Promise<boolean> {
    if (!(await this.hasTenant(kind, tenant, false))) return false;
    const client = await this.weaviate();
    try {
      await client.data.deleter().withClassName(WeaviateStore.className(kind)).withId(weaviateTs().generateUuid5(id)).withTenant(tenant).do();
      return true;
    } catch (err) {
      if (isStatus(err, 404)) return false;
      throw err;
    }
  }

  deleteWhere(tenant: string, kind: string, selector: EraseSelector): Promise<number> {
    return this.batchDelete(tenant, kind, {
      operator: 'Or',
      operands: [
        { path: ['userId'], operator: 'Equal', valueText: selector.userId },
        { path: ['namespace'], operator: 'Equal', valueText: `user:${selector.userId}` },
      ],
    });
  }

  purgeExpired(tenant: string, kind: string, now = this.now()): Promise<number> {
    return this.batchDelete(tenant, kind, { path: ['expiresAt'], operator: 'LessThanEqual', valueNumber: now });
  }

  /** Weaviate deletes at most QUERY_MAXIMUM_RESULTS (10 000 by default) per call, so this repeats until none match. */
  private async batchDelete(tenant: string, kind: string, where: WhereFilter): Promise<number> {
    if (!(await this.hasTenant(kind, tenant, false))) return 0;
    const client = await this.weaviate();
    let total = 0;
    for (;;) {
      const response = await client.batch
        .objectsBatchDeleter()
        .withClassName(WeaviateStore.className(kind))
        .withTenant(tenant)
        .withWhere(where)
        .withOutput('minimal')
        .do();
      const successful = response.results?.successful ?? 0;
      total += successful;
      if (successful === 0 || successful < (response.results?.limit ?? 10_000)) return total;
    }
  }

  async tenants(kind: string): Promise<string[]> {
    const client = await this.weaviate();
    const list = await client.schema.tenantsGetter(WeaviateStore.className(kind)).do();
    return list.map((t) => t.name!).filter(Boolean).sort();
  }

  async listNamespaces(tenant: string, kind: string): Promise<{ namespace: string; count: number }[]> {
    if (!(await this.hasTenant(kind, tenant, false))) return [];
    const client = await this.weaviate();
    const className = WeaviateStore.className(kind);
    const response = (await client.graphql
      .aggregate()
      .withClassName(className)
      .withTenant(tenant)
      .withGroupBy(['namespace'])
      .withWhere({ path: ['expiresAt'], operator: 'GreaterThan', valueNumber: this.now() })
      .withFields('groupedBy { value } meta { count }')
      .do()) as { data?: { Aggregate?: Record<string, { groupedBy: { value: string }; meta: { count: number } }[] | null> } };
    return (response.data?.Aggregate?.[className] ?? [])
      .map((g) => ({ namespace: g.groupedBy.value, count: g.meta.count }))
      .filter((g) => g.count > 0)
      .sort((a, b) => a.namespace.localeCompare(b.namespace));
  }

  /** Drops the class of a kind with every tenant's objects (tests, and deliberate re-embedding). */
  async dropCollection(kind: string): Promise<void> {
    const client = await this.weaviate();
    await client.schema.classDeleter().withClassName(WeaviateStore.className(kind)).do().catch((err: unknown) => {
      if (!isStatus(err, 404)) throw err;
    });
    this.collections.delete(kind);
    this.knownTenants.delete(WeaviateStore.className(kind));
  }

  async close(): Promise<void> {
    this.client = undefined;
  }
}

function parseDescription(description: string | undefined): CollectionInfo | undefined {
  const m = description?.match(/^keelson memory;model=(.+);dimension=(\d+)$/);
  return m ? { embeddingModel: m[1]!, dimension: Number(m[2]) } : undefined;
}

/** weaviate-ts-client reports an HTTP failure as `usage error (404): ...`. */
function isStatus(err: unknown, status: number): boolean {
  return err instanceof Error && err.message.includes(`(${status})`);
}

function toProps(m: MemoryRecord): ObjectProps {
  const userId = m.metadata['userId'];
  return {
    memoryId: m.id,
    namespace: m.namespace,
    text: m.text,
    metadataJson: JSON.stringify(m.metadata),
    userId: typeof userId === 'string' ? userId : '',
    createdAt: m.createdAt,
    expiresAt: m.expiresAt ?? NEVER_EXPIRES,
  };
}

function fromProps(p: ObjectProps): StoredMemory {
  const memory: StoredMemory = {
    id: p.memoryId,
    namespace: p.namespace,
    text: p.text,
    metadata: JSON.parse(p.metadataJson) as StoredMemory['metadata'],
    createdAt: p.createdAt,
  };
  if (p.expiresAt < NEVER_EXPIRES) memory.expiresAt = p.expiresAt;
  return memory;
}

function fromResult(r: GetResult, hybrid: boolean): ScoredMemory {
  const extra = r._additional ?? {};
  const score = hybrid ? Number(extra.score ?? 0) : 1 - Number(extra.distance ?? 1);
  return { ...fromProps(r), score };
}
