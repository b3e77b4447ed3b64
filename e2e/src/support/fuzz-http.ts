import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INJECTIONS, resolveRef, type JsonSchema } from './fuzz-schema';
import { repoRoot } from './isolation';

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  schema?: JsonSchema;
}

/** One operation of docs/api/openapi.json, read when the test runs: a new route is fuzzed without a code change. */
export interface Operation {
  id: string;
  method: string;
  path: string;
  parameters: Parameter[];
  bodySchema?: JsonSchema;
}

export function readOpenApi(): { doc: unknown; operations: Operation[] } {
  const doc = JSON.parse(readFileSync(join(repoRoot, 'docs/api/openapi.json'), 'utf8')) as {
    paths: Record<string, Record<string, { operationId?: string; parameters?: Parameter[]; requestBody?: { content: Record<string, { schema: JsonSchema }> } }>>;
  };
  const methods = new Set(['get', 'put', 'post', 'delete', 'patch']);
  const operations: Operation[] = [];
  for (const [path, item] of Object.entries(doc.paths)) {
    const shared = (item['parameters'] as unknown as Parameter[] | undefined) ?? [];
    for (const [method, op] of Object.entries(item)) {
      if (!methods.has(method)) continue;
      const schema = op.requestBody?.content['application/json']?.schema;
      operations.push({
        id: op.operationId ?? `${method} ${path}`,
        method: method.toUpperCase(),
        path,
        parameters: [...shared, ...(op.parameters ?? [])],
        ...(schema ? { bodySchema: resolveRef(doc, schema) } : {}),
      });
    }
  }
  return { doc, operations };
}

/** One raw request of the corpus: what it tries, and the body and headers as bytes on the wire. */
export interface RawCase {
  what: string;
  /** The case can be a valid request for some routes (an injection string where any text goes): no 4xx required. */
  mayPass?: boolean;
  body?: string | Uint8Array;
  headers?: Record<string, string>;
  query?: string;
}

const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

/** Bodies no JSON route may take: broken syntax, the wrong shape, the wrong bytes, the wrong media type. */
export function bodyCorpus(valid: Record<string, unknown>, schema: JsonSchema = {}): RawCase[] {
  const json = JSON.stringify(valid);
  // A schema with no required field takes an empty body; one that allows extra fields takes unknown ones.
  const needsBody = (schema.required?.length ?? 0) > 0 || Boolean(schema.oneOf);
  const strict = schema.additionalProperties === false;
  const numeric = Object.entries(schema.properties ?? {}).filter(([, f]) => f.type === 'number' || f.type === 'integer').map(([n]) => n);
  return [
    { what: 'malformed JSON', body: '{"a": 1,,}' },
    { what: 'truncated JSON', body: json.slice(0, Math.max(1, Math.floor(json.length / 2))) },
    { what: 'empty body with a JSON content type', body: '', mayPass: !needsBody },
    { what: 'JSON nested 10,000 deep (arrays)', body: nested(10_000) },
    { what: 'JSON nested 10,000 deep (objects)', body: '{"a":'.repeat(10_000) + '1' + '}'.repeat(10_000) },
    { what: 'a 2 MB string', mayPass: !strict, body: JSON.stringify({ ...valid, text: 'x'.repeat(2 * 1024 * 1024) }) },
    { what: 'invalid UTF-8 bytes', body: Buffer.concat([Buffer.from('{"input":"'), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0xa0]), Buffer.from('"}')]) },
    { what: 'a UTF-16 byte order mark', body: Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(json, 'utf16le')]) },
    { what: 'text/plain content type', body: json, headers: { 'content-type': 'text/plain' } },
    { what: 'form content type', body: 'a=1&b=2', headers: { 'content-type': 'application/x-www-form-urlencoded' } },
    // Fastify reads every JSON body as UTF-8 whatever charset it names; a valid body is taken.
    { what: 'a content type with a bad charset', body: json, headers: { 'content-type': 'application/json; charset=klingon' }, mayPass: true },
    { what: 'null body', body: 'null', mayPass: !needsBody },
    { what: 'array body', body: '[1,2,3]' },
    { what: 'number body', body: '42' },
    { what: 'string body', body: '"hello"' },
    { what: 'prototype pollution', mayPass: true, body: JSON.stringify(valid).replace(/^\{/, '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},') },
    { what: 'duplicate keys', mayPass: true, body: json.replace(/^\{/, '{"agentId":1,') },
    // Last, so it wins over a valid value of the same name; 1e999999 parses to Infinity.
    { what: 'huge number (Infinity once parsed)', mayPass: !strict && numeric.length === 0, body: withRawFields(json, (numeric.length ? numeric : ['limitUsd']).map((n) => [n, '1e999999'])) },
    ...INJECTIONS.map((s) => ({ what: `injection string in every string field: ${s.slice(0, 30)}`, mayPass: true, body: JSON.stringify(replaceStrings(valid, s)) })),
  ];
}

/** Query strings that must be refused or ignored: wrong types, bounds, repeats, injections, bad escapes. */
export function queryCorpus(params: Parameter[]): RawCase[] {
  const cases: RawCase[] = [{ what: 'unknown query parameter', query: 'fuzz=1&%24where=1' }, { what: 'bad percent-encoding', query: 'a=%zz%' }];
  for (const p of params.filter((x) => x.in === 'query')) {
    const n = encodeURIComponent(p.name);
    for (const [what, value] of [
      ['zero', '0'],
      ['negative', '-1'],
      ['huge number', '1e309'],
      ['past safe integers', '99999999999999999999999'],
      ['not a number', 'abc'],
      ['empty', ''],
      ['a 20 kB value', 'x'.repeat(20_000)],
      ['NUL byte', '%00'],
      ['bad date', '2026-13-45T99:99:99Z'],
      ...INJECTIONS.slice(0, 8).map((s, i) => [`injection ${i}`, encodeURIComponent(s)]),
    ] as const) {
      cases.push({ what: `${p.name} ${what}`, query: `${n}=${value}` });
    }
    cases.push({ what: `${p.name} repeated`, query: `${n}=1&${n}=2` });
    cases.push({ what: `${p.name} as an object`, query: `${n}[%24gt]=1` });
  }
  return cases;
}

/** Header values no route may trip on: bad keys, bad ids, bad preconditions, odd Accept. */
export const HEADER_CORPUS: RawCase[] = [
  { what: 'no Authorization', headers: { authorization: '' } },
  { what: 'Basic instead of Bearer', headers: { authorization: 'Basic dXNlcjpwYXNz' } },
  { what: 'a Bearer key of 8 kB', headers: { authorization: `Bearer ${'k'.repeat(8_000)}` } },
  { what: 'a Bearer key with injection', headers: { authorization: "Bearer ' OR 1=1 --" } },
  { what: 'a malformed JWT', headers: { authorization: 'Bearer eyJhbGciOiJub25lIn0.e30.' } },
  { what: 'Idempotency-Key with control bytes', headers: { 'idempotency-key': 'a\tb c' } },
  { what: 'Idempotency-Key of 4 kB', headers: { 'idempotency-key': 'i'.repeat(4_000) } },
  { what: 'If-Match garbage', headers: { 'if-match': '"not-a-version' } },
  { what: 'If-Match a huge number', headers: { 'if-match': '"99999999999999999999999999"' } },
  { what: 'Last-Event-ID garbage', headers: { 'last-event-id': '../../x' } },
  { what: 'Last-Event-ID negative', headers: { 'last-event-id': '-5' } },
  { what: 'Accept nothing we make', headers: { accept: 'image/png' } },
  { what: 'traceparent garbage', headers: { traceparent: '00-zz-zz-zz' } },
  { what: 'X-Request-Id of injection', headers: { 'x-request-id': '"; rm -rf /' } },
];

/** Path segment values for each `{param}`: injections, traversal, NUL, too long, bad escapes. */
export const PATH_SEGMENT_CORPUS = [
  '..%2F..%2Fetc%2Fpasswd',
  '%00',
  '%zz',
  'x'.repeat(5_000),
  encodeURIComponent("' OR '1'='1"),
  encodeURIComponent('{"$gt":""}'),
  '__proto__',
  encodeURIComponent('a b'),
  '-1',
  '%F0%9F%92%A9',
  '%ED%A0%80',
];

/** The JSON object with raw `"name": text` members appended; the last of two equal names wins in JSON.parse. */
function withRawFields(json: string, fields: [string, string][]): string {
  const members = fields.map(([name, text]) => `${JSON.stringify(name)}:${text}`).join(',');
  return json === '{}' ? `{${members}}` : json.replace(/\}$/, `,${members}}`);
}

/** The same body with every string value (at any depth) replaced by `s`. */
function replaceStrings(value: unknown, s: string): unknown {
  if (typeof value === 'string') return s;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, s));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, s)]));
  return value;
}
