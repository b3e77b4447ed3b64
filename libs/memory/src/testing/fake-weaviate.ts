import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A PROTOCOL-FAITHFUL FAKE of Weaviate (1.25-era REST and GraphQL), for testing WeaviateStore's request
 * building and response parsing without a Weaviate server. It speaks the wire formats weaviate-ts-client
 * 2.2 uses: GET /v1/meta; /v1/schema (GET, POST), /v1/schema/{class} (GET, DELETE);
 * /v1/schema/{class}/tenants (GET, POST); POST and DELETE /v1/batch/objects (per-object results,
 * batch delete by where); GET and DELETE /v1/objects/{class}/{id}?tenant=; POST /v1/graphql for Get (with
 * nearVector, hybrid, where, limit, tenant, `_additional { id distance certainty score }`) and Aggregate
 * (groupBy, meta { count }). Multi-tenancy is enforced as Weaviate does: a multi-tenant class refuses
 * calls without a tenant, and an unknown tenant is an error.
 *
 * What it is NOT: an index. Search is brute force; hybrid fuses cosine similarity with the share of query
 * words found in `text` (relative scores, not Weaviate's exact BM25); the where evaluator knows And, Or,
 * Equal, NotEqual, (Greater|Less)Than(Equal) and ContainsAny. Error bodies follow Weaviate's
 * `{"error":[{"message"}]}` shape and GraphQL's `{"errors":[{"message"}]}`.
 */
export interface FakeWeaviate {
  url: string;
  /** Every request as `METHOD /path?query`, for assertions on what the client sent. */
  requests: { method: string; path: string; body: unknown }[];
  close(): Promise<void>;
}

interface StoredObject {
  id: string;
  properties: Record<string, unknown>;
  vector: number[];
  creationTimeUnix: number;
}

interface ClassState {
  def: Record<string, unknown> & { class: string };
  tenants: Map<string, Map<string, StoredObject>>;
}

export async function startFakeWeaviate(): Promise<FakeWeaviate> {
  const classes = new Map<string, ClassState>();
  const requests: FakeWeaviate['requests'] = [];

  const send = (res: ServerResponse, status: number, body?: unknown) => {
    if (body === undefined) {
      res.writeHead(status);
      res.end();
      return;
    }
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(body));
  };
  const error = (res: ServerResponse, status: number, message: string) => send(res, status, { error: [{ message }] });

  const tenantObjects = (cls: ClassState, tenant: string | null): Map<string, StoredObject> | string => {
    const mt = (cls.def['multiTenancyConfig'] as { enabled?: boolean } | undefined)?.enabled;
    if (!mt) return tenant ? `class ${cls.def.class} has multi-tenancy disabled, but request was with tenant` : (cls.tenants.get('') ?? new Map());
    if (!tenant) return `class ${cls.def.class} has multi-tenancy enabled, but request was without tenant`;
    return cls.tenants.get(tenant) ?? `tenant not found: "${tenant}"`;
  };

  const handle = (req: IncomingMessage, body: unknown, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    const parts = url.pathname.split('/').filter(Boolean); // ['v1', ...]
    const method = req.method ?? 'GET';
    const tenant = url.searchParams.get('tenant');
    if (parts[0] !== 'v1') return error(res, 404, 'not found');
    const [, root, a, b] = parts;

    if (root === 'meta') return send(res, 200, { hostname: 'http://[::]:8080', version: '1.25.0', modules: {} });
    if (root === '.well-known') return send(res, 200);

    if (root === 'schema') {
      if (!a) {
        if (method === 'GET') return send(res, 200, { classes: [...classes.values()].map((c) => c.def) });
        if (method === 'POST') {
          const def = body as ClassState['def'];
          if (!/^[A-Z][_0-9A-Za-z]*$/.test(def.class ?? '')) return error(res, 422, `'${def.class}' is not a valid class name`);
          if (classes.has(def.class)) return error(res, 422, `class name ${def.class} already exists`);
          classes.set(def.class, { def, tenants: new Map() });
          return send(res, 200, def);
        }
      }
      const cls = classes.get(a!);
      if (!cls) return method === 'GET' && !b ? send(res, 404) : error(res, 404, `class ${a} not found`);
      if (!b) {
        if (method === 'GET') return send(res, 200, cls.def);
        if (method === 'DELETE') {
          classes.delete(a!);
          return send(res, 200);
        }
      }
      if (b === 'tenants') {
        if (method === 'GET') return send(res, 200, [...cls.tenants.keys()].map((name) => ({ name, activityStatus: 'HOT' })));
        if (method === 'POST') {
          const list = body as { name: string }[];
          for (const t of list) {
            if (!/^[A-Za-z0-9_-]{1,64}$/.test(t.name)) return error(res, 422, `tenant name ${t.name} is invalid`);
            if (!cls.tenants.has(t.name)) cls.tenants.set(t.name, new Map());
          }
          return send(res, 200, list);
        }
      }
      return error(res, 405, 'method not allowed');
    }

    if (root === 'batch' && a === 'objects') {
      if (method === 'POST') {
        const { objects } = body as { objects: { class: string; id: string; tenant?: string; vector?: number[]; properties: Record<string, unknown> }[] };
        return send(
          res,
          200,
          objects.map((o) => {
            const fail = (message: string) => ({ ...o, result: { errors: { error: [{ message }] } } });
            const cls = classes.get(o.class);
            if (!cls) return fail(`class ${o.class} not found`);
            const objs = tenantObjects(cls, o.tenant ?? null);
            if (typeof objs === 'string') return fail(objs);
            const vector = o.vector ?? [];
            const existingLength = [...objs.values()][0]?.vector.length;
            if (existingLength !== undefined && existingLength !== vector.length) {
              return fail(`new node has a vector with length ${vector.length}. Existing nodes have vectors with length ${existingLength}`);
            }
            objs.set(o.id, { id: o.id, properties: o.properties, vector, creationTimeUnix: Date.now() });
            return { ...o, creationTimeUnix: Date.now(), result: {} };
          }),
        );
      }
      if (method === 'DELETE') {
        const { match, output, dryRun } = body as { match: { class: string; where: Where }; output?: string; dryRun?: boolean };
        const cls = classes.get(match.class);
        if (!cls) return error(res, 422, `class ${match.class} not found`);
        const objs = tenantObjects(cls, tenant);
        if (typeof objs === 'string') return error(res, 422, objs);
        const matched = [...objs.values()].filter((o) => evaluate(match.where, o.properties)).slice(0, 10_000);
        if (!dryRun) for (const o of matched) objs.delete(o.id);
        return send(res, 200, {
          match,
          output: output ?? 'minimal',
          dryRun: !!dryRun,
          results: { matches: matched.length, limit: 10_000, successful: dryRun ? 0 : matched.length, failed: 0, objects: null },
        });
      }
    }

    if (root === 'objects' && a && b) {
      const cls = classes.get(a);
      if (!cls) return send(res, 404);
      const objs = tenantObjects(cls, tenant);
      if (typeof objs === 'string') return error(res, 422, objs);
      const o = objs.get(b);
      if (!o) return send(res, 404);
      if (method === 'GET') return send(res, 200, { class: a, id: o.id, properties: o.properties, tenant, creationTimeUnix: o.creationTimeUnix, lastUpdateTimeUnix: o.creationTimeUnix });
      if (method === 'DELETE') {
        objs.delete(b);
        return send(res, 204);
      }
    }

    if (root === 'graphql' && method === 'POST') {
      try {
        return send(res, 200, graphql((body as { query: string }).query, classes, tenantObjects));
      } catch (err) {
        return send(res, 200, { errors: [{ message: (err as Error).message }] });
      }
    }
    return error(res, 404, `no route ${method} ${url.pathname}`);
  };

  const server: Server = createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      let body: unknown;
      try {
        body = raw ? JSON.parse(raw) : undefined;
      } catch {
        return error(res, 400, 'invalid JSON');
      }
      requests.push({ method: req.method ?? 'GET', path: req.url ?? '/', body });
      try {
        handle(req, body, res);
      } catch (err) {
        error(res, 500, (err as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

type Where = { operator: string; operands?: Where[]; path?: string[]; [value: string]: unknown };

function evaluate(where: Where | undefined, props: Record<string, unknown>): boolean {
  if (!where) return true;
  if (where.operator === 'And') return (where.operands ?? []).every((w) => evaluate(w, props));
  if (where.operator === 'Or') return (where.operands ?? []).some((w) => evaluate(w, props));
  const actual = props[where.path![0]!];
  const key = Object.keys(where).find((k) => k.startsWith('value'))!;
  const expected = where[key];
  switch (where.operator) {
    case 'Equal':
      return actual === expected;
    case 'NotEqual':
      return actual !== expected;
    case 'GreaterThan':
      return (actual as number) > (expected as number);
    case 'GreaterThanEqual':
      return (actual as number) >= (expected as number);
    case 'LessThan':
      return (actual as number) < (expected as number);
    case 'LessThanEqual':
      return (actual as number) <= (expected as number);
    case 'ContainsAny':
      return (expected as unknown[]).includes(actual);
    default:
      throw new Error(`fake Weaviate does not implement operator ${where.operator}`);
  }
}

// --- A small GraphQL reader: enough of the query language for what weaviate-ts-client sends. ---

type Value = string | number | boolean | Value[] | { [k: string]: Value } | { enum: string };

class Reader {
  i = 0;
  constructor(readonly s: string) {}
  ws(): void {
    while (this.i < this.s.length && /[\s,]/.test(this.s[this.i]!)) this.i++;
  }
  peek(): string {
    this.ws();
    return this.s[this.i] ?? '';
  }
  expect(c: string): void {
    if (this.peek() !== c) throw new Error(`GraphQL syntax: expected '${c}' at ${this.i} in ${this.s.slice(this.i, this.i + 30)}`);
    this.i++;
  }
  name(): string {
    this.ws();
    const m = /^[_A-Za-z][_0-9A-Za-z]*/.exec(this.s.slice(this.i));
    if (!m) throw new Error(`GraphQL syntax: expected a name at ${this.i}`);
    this.i += m[0].length;
    return m[0];
  }
  value(): Value {
    const c = this.peek();
    if (c === '{') {
      this.i++;
      const obj: Record<string, Value> = {};
      while (this.peek() !== '}') {
        const key = this.name();
        this.expect(':');
        obj[key] = this.value();
      }
      this.i++;
      return obj;
    }
    if (c === '[') {
      this.i++;
      const list: Value[] = [];
      while (this.peek() !== ']') list.push(this.value());
      this.i++;
      return list;
    }
    if (c === '"') {
      let j = this.i + 1;
      while (this.s[j] !== '"') j += this.s[j] === '\\' ? 2 : 1;
      const text = JSON.parse(this.s.slice(this.i, j + 1)) as string;
      this.i = j + 1;
      return text;
    }
    const num = /^-?\d+(\.\d+)?([eE][-+]?\d+)?/.exec(this.s.slice(this.i));
    if (num) {
      this.i += num[0].length;
      return Number(num[0]);
    }
    const word = this.name();
    if (word === 'true' || word === 'false') return word === 'true';
    return { enum: word };
  }
  /** `{a b _additional { id distance }}` -> ['a', 'b', '_additional.id', '_additional.distance'] (nested one level). */
  selection(prefix = ''): string[] {
    this.expect('{');
    const out: string[] = [];
    while (this.peek() !== '}') {
      const n = this.name();
      if (this.peek() === '{') out.push(...this.selection(`${prefix}${n}.`));
      else out.push(`${prefix}${n}`);
    }
    this.i++;
    return out;
  }
}

/** GraphQL enums (operator:And) become strings, so where objects look like the REST ones. */
function plain(v: Value): unknown {
  if (Array.isArray(v)) return v.map(plain);
  if (v && typeof v === 'object') {
    if ('enum' in v && Object.keys(v).length === 1) return (v as { enum: string }).enum;
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
  }
  return v;
}

function cosine(a: number[], b: number[]): number {
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    na += a[i]! * a[i]!;
    nb += b[i]! * b[i]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

function graphql(
  query: string,
  classes: Map<string, ClassState>,
  tenantObjects: (cls: ClassState, tenant: string | null) => Map<string, StoredObject> | string,
): unknown {
  const r = new Reader(query);
  r.expect('{');
  const op = r.name();
  if (op !== 'Get' && op !== 'Aggregate') throw new Error(`fake Weaviate does not implement ${op}`);
  r.expect('{');
  const className = r.name();
  const args: Record<string, unknown> = {};
  if (r.peek() === '(') {
    r.i++;
    while (r.peek() !== ')') {
      const key = r.name();
      r.expect(':');
      args[key] = plain(r.value());
    }
    r.i++;
  }
  const fields = r.selection();
  const cls = classes.get(className);
  if (!cls) throw new Error(`Cannot query field "${className}" on type "${op}Objects".`);
  const objs = tenantObjects(cls, (args['tenant'] as string | undefined) ?? null);
  if (typeof objs === 'string') return { data: { [op]: { [className]: null } }, errors: [{ message: objs, path: [op, className] }] };
  const matching = [...objs.values()].filter((o) => evaluate(args['where'] as Where | undefined, o.properties));

  if (op === 'Aggregate') {
    const groupBy = (args['groupBy'] as string[] | undefined)?.[0];
    if (!groupBy) return { data: { Aggregate: { [className]: [{ meta: { count: matching.length } }] } } };
    const counts = new Map<unknown, number>();
    for (const o of matching) counts.set(o.properties[groupBy], (counts.get(o.properties[groupBy]) ?? 0) + 1);
    return {
      data: { Aggregate: { [className]: [...counts].map(([value, count]) => ({ groupedBy: { path: [groupBy], value }, meta: { count } })) } },
    };
  }

  const near = args['nearVector'] as { vector: number[]; distance?: number; certainty?: number } | undefined;
  const hybrid = args['hybrid'] as { query: string; vector?: number[]; alpha?: number } | undefined;
  let scored = matching.map((o) => ({ o, distance: undefined as number | undefined, score: undefined as number | undefined }));
  if (near) {
    scored = scored.map((s) => ({ ...s, distance: 1 - cosine(near.vector, s.o.vector) }));
    if (near.distance !== undefined) scored = scored.filter((s) => s.distance! <= near.distance!);
    if (near.certainty !== undefined) scored = scored.filter((s) => 1 - s.distance! / 2 >= near.certainty!);
    scored.sort((a, b) => a.distance! - b.distance!);
  } else if (hybrid) {
    const alpha = hybrid.alpha ?? 0.75;
    const words = hybrid.query.toLowerCase().match(/\w+/g) ?? [];
    scored = scored.map((s) => {
      const text = String(s.o.properties['text'] ?? '').toLowerCase();
      const keyword = words.length ? words.filter((w) => text.includes(w)).length / words.length : 0;
      const vector = hybrid.vector ? (cosine(hybrid.vector, s.o.vector) + 1) / 2 : 0;
      return { ...s, score: alpha * vector + (1 - alpha) * keyword };
    });
    scored.sort((a, b) => b.score! - a.score!);
  }
  const limit = (args['limit'] as number | undefined) ?? 100;
  const results = scored.slice(0, limit).map(({ o, distance, score }) => {
    const out: Record<string, unknown> = {};
    const additional: Record<string, unknown> = {};
    for (const f of fields) {
      if (f.startsWith('_additional.')) {
        const k = f.slice('_additional.'.length);
        if (k === 'id') additional['id'] = o.id;
        else if (k === 'distance') additional['distance'] = distance ?? null;
        else if (k === 'certainty') additional['certainty'] = distance === undefined ? null : 1 - distance / 2;
        // Weaviate sends hybrid scores as strings.
        else if (k === 'score') additional['score'] = score === undefined ? null : String(score);
        else additional[k] = null;
      } else out[f] = o.properties[f] ?? null;
    }
    if (Object.keys(additional).length) out['_additional'] = additional;
    return out;
  });
  return { data: { Get: { [className]: results } } };
}
