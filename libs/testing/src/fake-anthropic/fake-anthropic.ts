/**
 * A protocol-faithful local stand-in for the Anthropic Messages API (`POST /v1/messages`, streaming), written
 * from Anthropic's public API reference: a real HTTP server on 127.0.0.1 that answers with the same SSE
 * events and JSON error bodies, scripted per request, and records what it was sent. No Anthropic code or
 * recordings are used; the wire shapes are in ./anthropic-wire.ts.
 */
import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ANTHROPIC_ERROR_TYPES, encodeSse, errorBody, messageEvents, type AnthropicSseEvent, type FakeMessage } from './anthropic-wire';

/** A 200 event stream: a message (built into its events) or raw events, optionally cut off or held open. */
export interface FakeStreamReply {
  stream: FakeMessage | AnthropicSseEvent[];
  /** Pause before each event. */
  eventDelayMs?: number;
  /** Send this many events, then destroy the socket (a connection cut mid-stream). */
  cutAfterEvents?: number;
  /** Send this many events, then keep the connection open, silent, until the client closes it. */
  holdOpenAfterEvents?: number;
}

/** An HTTP error with the API's JSON body; `errorType` defaults to the one the reference gives the status. */
export interface FakeErrorReply {
  status: number;
  message: string;
  errorType?: string;
  retryAfter?: string;
}

export type FakeAnthropicReply = FakeStreamReply | FakeErrorReply;

export interface RecordedAnthropicRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- the JSON the client sent, as is
  /** How the response ended: 'completed', or 'client_closed' when the client hung up first. */
  closed: Promise<'completed' | 'client_closed'>;
}

/** Replies in order, the last one repeating; or a function of the request and its 0-based number. */
export type FakeAnthropicScript = FakeAnthropicReply[] | ((req: RecordedAnthropicRequest, n: number) => FakeAnthropicReply);

export interface FakeAnthropicOptions {
  /** When set, any other `x-api-key` gets 401 authentication_error, as the API answers. */
  apiKey?: string;
}

export interface FakeAnthropicHandle {
  /** `http://127.0.0.1:<port>`, the provider's baseUrl. */
  baseUrl: string;
  requests: RecordedAnthropicRequest[];
  close(): Promise<void>;
}

export async function startFakeAnthropic(script: FakeAnthropicScript, options: FakeAnthropicOptions = {}): Promise<FakeAnthropicHandle> {
  const requests: RecordedAnthropicRequest[] = [];
  const pick = (req: RecordedAnthropicRequest, n: number): FakeAnthropicReply =>
    typeof script === 'function' ? script(req, n) : script[Math.min(n, script.length - 1)]!;

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const closed = new Promise<'completed' | 'client_closed'>((resolve) =>
        res.on('close', () => resolve(res.writableFinished ? 'completed' : 'client_closed')),
      );
      const recorded: RecordedAnthropicRequest = {
        method: req.method ?? '',
        path: req.url ?? '',
        headers: req.headers,
        body: parseJson(Buffer.concat(chunks).toString('utf8')),
        closed,
      };
      requests.push(recorded);
      const invalid = validate(recorded, options);
      const reply = invalid ?? pick(recorded, requests.length - 1);
      void respond(res, reply).catch(() => res.destroy());
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** The checks the real API makes before it streams anything, answered the way it answers them. */
function validate(req: RecordedAnthropicRequest, options: FakeAnthropicOptions): FakeErrorReply | undefined {
  if (req.method !== 'POST' || req.path !== '/v1/messages') return { status: 404, message: 'Not found' };
  const key = req.headers['x-api-key'];
  if (!key || (options.apiKey !== undefined && key !== options.apiKey)) return { status: 401, message: 'invalid x-api-key' };
  if (!req.headers['anthropic-version']) return { status: 400, message: 'anthropic-version: header is required' };
  const body = req.body as Record<string, unknown> | undefined;
  if (!body || typeof body !== 'object') return { status: 400, message: 'request body must be JSON' };
  for (const field of ['model', 'max_tokens', 'messages']) {
    if (body[field] === undefined) return { status: 400, message: `${field}: Field required` };
  }
  if (body['stream'] !== true) return { status: 400, message: 'this fake only streams: send stream: true' };
  return undefined;
}

async function respond(res: ServerResponse, reply: FakeAnthropicReply): Promise<void> {
  if ('status' in reply) {
    const headers: Record<string, string> = { 'content-type': 'application/json', 'request-id': 'req_fake_01' };
    if (reply.retryAfter !== undefined) headers['retry-after'] = reply.retryAfter;
    res.writeHead(reply.status, headers);
    res.end(JSON.stringify(errorBody(reply.errorType ?? ANTHROPIC_ERROR_TYPES[reply.status] ?? 'api_error', reply.message)));
    return;
  }
  const events = Array.isArray(reply.stream) ? reply.stream : messageEvents(reply.stream);
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': 'req_fake_01' });
  res.flushHeaders();
  const stopAt = reply.cutAfterEvents ?? reply.holdOpenAfterEvents ?? events.length;
  for (const event of events.slice(0, stopAt)) {
    if (reply.eventDelayMs) await sleep(reply.eventDelayMs);
    if (res.destroyed) return;
    res.write(encodeSse(event));
  }
  if (reply.cutAfterEvents !== undefined) {
    // Let the written events reach the client, then cut the connection without ending the chunked body.
    await new Promise<void>((resolve) => res.write('', () => resolve()));
    res.socket?.destroy();
    return;
  }
  if (reply.holdOpenAfterEvents !== undefined) return; // the client closes it, or close() does
  res.end();
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
