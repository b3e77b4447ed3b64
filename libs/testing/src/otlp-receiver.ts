import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync, inflateSync } from 'node:zlib';

/** One span as an OTLP/HTTP exporter sent it, flattened with its resource's service name and its scope. */
export interface ReceivedSpan {
  traceId: string;
  spanId: string;
  /** Absent for a root span. */
  parentSpanId?: string;
  name: string;
  kind: 'UNSPECIFIED' | 'INTERNAL' | 'SERVER' | 'CLIENT' | 'PRODUCER' | 'CONSUMER';
  /** The resource's `service.name`. */
  service: string;
  /** The instrumentation scope (tracer) name. */
  scope: string;
  attributes: Record<string, unknown>;
  /** 0 unset, 1 ok, 2 error. */
  status: { code: number; message?: string };
  events: { name: string; attributes: Record<string, unknown> }[];
  startTimeUnixNano: string;
  endTimeUnixNano: string;
}

export interface OtlpReceiverHandle {
  /** The base URL to give as OTEL_EXPORTER_OTLP_ENDPOINT; spans are POSTed to `${url}/v1/traces`. */
  url: string;
  /** Every span received so far, in arrival order. */
  spans(): ReceivedSpan[];
  /** The spans of one trace. */
  trace(traceId: string): ReceivedSpan[];
  /** Requests the receiver could not decode (wrong path, protobuf, bad JSON), as `status: reason`. */
  rejected(): string[];
  reset(): void;
  stop(): Promise<void>;
}

const KINDS: ReceivedSpan['kind'][] = ['UNSPECIFIED', 'INTERNAL', 'SERVER', 'CLIENT', 'PRODUCER', 'CONSUMER'];

/**
 * A small OTLP/HTTP trace receiver for tests, on a free loopback port: POST /v1/traces with the JSON
 * encoding (what @opentelemetry/exporter-trace-otlp-http sends; gzip or deflate accepted), answered 200 with
 * an empty ExportTraceServiceResponse as a collector does. The protobuf encoding is refused with 415, so a
 * test fails loudly instead of seeing no spans. Ids are the hex strings of the OTLP JSON mapping.
 */
export async function startOtlpReceiver(): Promise<OtlpReceiverHandle> {
  const received: ReceivedSpan[] = [];
  const rejected: string[] = [];
  const refuse = (res: ServerResponse, status: number, reason: string) => {
    rejected.push(`${status}: ${reason}`);
    res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 3, message: reason }));
  };
  const server = createServer((req, res) => {
    void readBody(req).then(
      (raw) => {
        if (req.method !== 'POST' || req.url?.split('?')[0] !== '/v1/traces') return refuse(res, 404, `${req.method} ${req.url}`);
        const type = req.headers['content-type'] ?? '';
        if (!type.startsWith('application/json')) return refuse(res, 415, `content-type ${type} (only the JSON encoding is decoded here)`);
        let body: OtlpJsonRequest;
        try {
          const encoding = req.headers['content-encoding'];
          const bytes = encoding === 'gzip' ? gunzipSync(raw) : encoding === 'deflate' ? inflateSync(raw) : raw;
          body = JSON.parse(bytes.toString('utf8')) as OtlpJsonRequest;
        } catch (err) {
          return refuse(res, 400, `undecodable body: ${(err as Error).message}`);
        }
        received.push(...flatten(body));
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      },
      (err: unknown) => refuse(res, 400, String(err)),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...received],
    trace: (traceId) => received.filter((s) => s.traceId === traceId),
    rejected: () => [...rejected],
    reset: () => {
      received.length = 0;
      rejected.length = 0;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

interface OtlpJsonValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: OtlpJsonValue[] };
  kvlistValue?: { values?: OtlpJsonKeyValue[] };
  bytesValue?: string;
}
interface OtlpJsonKeyValue {
  key: string;
  value?: OtlpJsonValue;
}
interface OtlpJsonSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  attributes?: OtlpJsonKeyValue[];
  status?: { code?: number; message?: string };
  events?: { name: string; attributes?: OtlpJsonKeyValue[] }[];
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
}
interface OtlpJsonRequest {
  resourceSpans?: {
    resource?: { attributes?: OtlpJsonKeyValue[] };
    scopeSpans?: { scope?: { name?: string }; spans?: OtlpJsonSpan[] }[];
  }[];
}

function flatten(body: OtlpJsonRequest): ReceivedSpan[] {
  const out: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const service = String(attributesOf(rs.resource?.attributes)['service.name'] ?? '');
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        out.push({
          traceId: s.traceId,
          spanId: s.spanId,
          ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
          name: s.name,
          kind: KINDS[s.kind ?? 0] ?? 'UNSPECIFIED',
          service,
          scope: ss.scope?.name ?? '',
          attributes: attributesOf(s.attributes),
          status: { code: s.status?.code ?? 0, ...(s.status?.message ? { message: s.status.message } : {}) },
          events: (s.events ?? []).map((e) => ({ name: e.name, attributes: attributesOf(e.attributes) })),
          startTimeUnixNano: String(s.startTimeUnixNano),
          endTimeUnixNano: String(s.endTimeUnixNano),
        });
      }
    }
  }
  return out;
}

function attributesOf(list: OtlpJsonKeyValue[] | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((kv) => [kv.key, valueOf(kv.value)]));
}

function valueOf(v: OtlpJsonValue | undefined): unknown {
  if (!v) return undefined;
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.boolValue !== undefined) return v.boolValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  if (v.arrayValue) return (v.arrayValue.values ?? []).map(valueOf);
  if (v.kvlistValue) return attributesOf(v.kvlistValue.values);
  return v.bytesValue;
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}
