import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { INJECTIONS, resolveRef, type JsonSchema } from './fuzz-schema';
import { repoRoot } from './isolation';

/** An RPC subject of docs/api/asyncapi.json and its request schema, read when the test runs. */
export interface RpcSubject {
  name: string;
  subject: string;
  schema: JsonSchema;
}

export function readAsyncApi(): { doc: unknown; rpcs: RpcSubject[] } {
  const doc = JSON.parse(readFileSync(join(repoRoot, 'docs/api/asyncapi.json'), 'utf8')) as {
    channels: Record<string, { address: string | null; messages?: Record<string, { payload?: JsonSchema }> }>;
  };
  const rpcs: RpcSubject[] = [];
  for (const [name, channel] of Object.entries(doc.channels)) {
    if (!channel.address?.startsWith('keelson.rpc.')) continue;
    const payload = Object.values(channel.messages ?? {})[0]?.payload;
    if (payload) rpcs.push({ name, subject: channel.address, schema: resolveRef(doc, payload) });
  }
  return { doc, rpcs };
}

/** A payload no subscriber may trip on, as raw bytes. */
export interface RawPayload {
  what: string;
  data: Uint8Array;
  /** The payload can be valid for some subjects (an injection string where any text goes). */
  mayPass?: boolean;
}

const bytes = (s: string) => new TextEncoder().encode(s);

/**
 * Garbage for a JSON subject: broken syntax, the wrong bytes, the wrong shape, deep nesting, a payload near
 * NATS's 1 MB limit (the server refuses larger ones before any service sees them), injections.
 */
export function payloadCorpus(valid: Record<string, unknown>): RawPayload[] {
  const json = JSON.stringify(valid);
  return [
    { what: 'empty', data: new Uint8Array() },
    { what: 'not JSON', data: bytes('hello, world') },
    { what: 'malformed JSON', data: bytes('{"a": 1,,}') },
    { what: 'truncated JSON', data: bytes(json.slice(0, Math.max(1, Math.floor(json.length / 2)))) },
    { what: 'invalid UTF-8', data: Uint8Array.from([0x7b, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]) },
    { what: 'JSON nested 10,000 deep', data: bytes('['.repeat(10_000) + ']'.repeat(10_000)) },
    { what: 'JSON objects nested 10,000 deep', data: bytes('{"input":'.repeat(10_000) + '1' + '}'.repeat(10_000)) },
    { what: 'a 900 kB string in the first string field', data: bytes(JSON.stringify(replaceFirstString(valid, 'x'.repeat(900_000)))) },
    { what: 'null', data: bytes('null') },
    { what: 'an array', data: bytes('[1,2,3]') },
    { what: 'a number', data: bytes('42') },
    { what: 'a string', data: bytes('"hello"') },
    { what: 'Infinity in a number field', mayPass: true, data: bytes(json.replace(/\}$/, ',"topK":1e999999,"maxOutputTokens":1e999999}')) },
    { what: 'prototype pollution', mayPass: true, data: bytes(json.replace(/^\{/, '{"__proto__":{"admin":true},"constructor":{"prototype":{"x":1}},')) },
    ...INJECTIONS.map((s) => ({ what: `injection in every string field: ${s.slice(0, 30)}`, mayPass: true, data: bytes(JSON.stringify(replaceStrings(valid, s))) })),
  ];
}

/** The body with its first top-level string field (the tenant, usually) set to `s`: one big value under 1 MB. */
function replaceFirstString(body: Record<string, unknown>, s: string): Record<string, unknown> {
  const name = Object.keys(body).find((k) => typeof body[k] === 'string');
  return name ? { ...body, [name]: s } : { ...body, input: s };
}

function replaceStrings(value: unknown, s: string): unknown {
  if (typeof value === 'string') return s;
  if (Array.isArray(value)) return value.map((v) => replaceStrings(v, s));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, replaceStrings(v, s)]));
  return value;
}
