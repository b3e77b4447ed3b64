/**
 * A protocol-faithful local stand-in for the OpenAI Chat Completions API (`POST /v1/chat/completions`),
 * written from OpenAI's public API reference: SSE framing (`data: <json>\n\n`, `data: [DONE]`), the
 * `chat.completion.chunk` objects with role/content/tool_calls deltas and `finish_reason`, the usage chunk
 * with empty `choices` when `stream_options.include_usage` is set, and error bodies
 * `{error:{message,type,param,code}}` with their status codes and `Retry-After`. Each request is answered
 * from a script (text, tool calls, errors, cuts, delays) and recorded, so tests can assert the wire shape.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { completionObject, errorBody, streamEvents, type CompletionContext } from './chat-completion-wire';
import { isFakeError, type FakeCompletion, type FakeError, type FakeOpenAIScript, type RecordedRequest } from './fake-openai-script';

export interface FakeOpenAIOptions {
  /** When set, a request without `Authorization: Bearer <apiKey>` gets OpenAI's 401. */
  apiKey?: string;
}

export interface FakeOpenAIHandle {
  /** The API base URL, `http://127.0.0.1:<port>/v1`, as OpenAI clients take it. */
  baseUrl: string;
  port: number;
  /** Every request received, in order. */
  requests: RecordedRequest[];
  stop(): Promise<void>;
}

export async function startFakeOpenAI(script: FakeOpenAIScript, options: FakeOpenAIOptions = {}): Promise<FakeOpenAIHandle> {
  const requests: RecordedRequest[] = [];
  const pick = (request: RecordedRequest, index: number) =>
    typeof script === 'function' ? script(request, index) : script[Math.min(index, script.length - 1)];

  const server = createServer((req, res) => {
    void handle(req, res).catch(() => res.destroy());
  });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const raw = await readBody(req);
    const recorded: RecordedRequest = { method: req.method ?? '', path: req.url ?? '', headers: { ...req.headers }, body: parseJson(raw), clientClosedEarly: false };
    const index = requests.push(recorded) - 1;
    res.on('close', () => {
      if (!res.writableFinished) recorded.clientClosedEarly = true;
    });

    if (req.method !== 'POST' || !/^\/v1\/chat\/completions\/?(\?.*)?$/.test(recorded.path)) {
      return sendError(res, { status: 404, message: `Invalid URL (${req.method} ${recorded.path})`, code: null });
    }
    if (options.apiKey !== undefined && req.headers.authorization !== `Bearer ${options.apiKey}`) {
      return sendError(res, { status: 401 });
    }
    const body = recorded.body as { model?: unknown; messages?: unknown; stream?: unknown; stream_options?: { include_usage?: unknown } } | undefined;
    if (!body || typeof body.model !== 'string' || !Array.isArray(body.messages)) {
      return sendError(res, { status: 400, message: 'Invalid body: `model` and `messages` are required.' });
    }
    const reply = pick(recorded, index);
    if (!reply) return sendError(res, { status: 500, message: 'fake OpenAI: the script has no reply' });
    if (isFakeError(reply)) return sendError(res, reply);

    const ctx: CompletionContext = {
      id: `chatcmpl-fake${index}`,
      model: body.model,
      created: Math.floor(Date.now() / 1000),
      includeUsage: body.stream_options?.include_usage === true,
      promptTokens: promptWords(body.messages),
    };
    if (reply.headersDelayMs) await pause(reply.headersDelayMs, res);
    if (body.stream !== true) return sendJson(res, 200, completionObject(reply, ctx));
    await streamReply(res, reply, ctx);
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

async function streamReply(res: ServerResponse, reply: FakeCompletion, ctx: CompletionContext): Promise<void> {
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  res.flushHeaders();
  let events = streamEvents(reply, ctx);
  if (reply.endWithoutDone) events = events.filter((e) => e !== '[DONE]' && !/"finish_reason":"|"choices":\[\]/.test(e));
  for (const [i, data] of events.entries()) {
    if (reply.cutAfterChunks !== undefined && i >= reply.cutAfterChunks) {
      res.socket?.destroy();
      return;
    }
    if (i > 0 && reply.chunkDelayMs) await pause(reply.chunkDelayMs, res);
    if (res.destroyed) return;
    // Flushed one by one, so that a cut after N chunks has really delivered those N.
    await new Promise<void>((resolve) => res.write(`data: ${data}\n\n`, () => resolve()));
  }
  res.end();
}

function sendError(res: ServerResponse, error: FakeError): void {
  const headers: Record<string, string> = {};
  if (error.retryAfter !== undefined) headers['retry-after'] = String(error.retryAfter);
  sendJson(res, error.status, errorBody(error), headers);
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** Waits `ms`, or less when the client has gone. */
async function pause(ms: number, res: ServerResponse): Promise<void> {
  const gone = new AbortController();
  const onClose = () => gone.abort();
  res.once('close', onClose);
  await sleep(ms, undefined, { signal: gone.signal }).catch(() => undefined);
  res.off('close', onClose);
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const parts: Buffer[] = [];
    req.on('data', (part: Buffer) => parts.push(part));
    req.on('end', () => resolve(Buffer.concat(parts).toString('utf8')));
    req.on('error', reject);
  });
}

function parseJson(raw: string): unknown {
  try {
    return JSON.parse(raw);
  } catch {
    return undefined;
  }
}

function promptWords(messages: unknown[]): number {
  return messages.reduce<number>((sum, m) => {
    const content = (m as { content?: unknown }).content;
    return sum + (typeof content === 'string' ? (content.match(/\S+/g)?.length ?? 0) : 0);
  }, 0);
}
