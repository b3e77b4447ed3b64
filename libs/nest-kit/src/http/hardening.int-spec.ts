import { strict as assert } from 'node:assert';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Body, Controller, Get, Module, Param, Post, Res, type INestApplication } from '@nestjs/common';
import { defaultHttpSettings, type HttpSettings } from '@keelson/config';
import { createLogger } from '@keelson/observability';
import type { FastifyReply } from 'fastify';
import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { bootstrapService } from '../bootstrap/bootstrap-service';

const REQUEST_TIMEOUT_MS = 1_000;
const OWN_CSP = "default-src 'self'; frame-ancestors 'none'";

@Controller('t')
class EdgeTestController {
  @Get('ok')
  ok(): { ok: true } {
    return { ok: true };
  }

  @Post('echo')
  echo(@Body() body: unknown): { body: unknown } {
    return { body };
  }

  @Get('items/:id')
  item(@Param('id') id: string): { id: string } {
    return { id };
  }

  @Get('boom')
  boom(): never {
    const err = new Error('could not open /srv/keelson/secrets/db.json');
    err.stack = `${err.message}\n    at boom (/app/dist/edge-test.js:12:7)`;
    throw err;
  }

  @Get('own-csp')
  async ownCsp(@Res() reply: FastifyReply): Promise<void> {
    await reply.header('content-type', 'text/html; charset=utf-8').header('content-security-policy', OWN_CSP).send('<p>hi</p>');
  }

  /** An SSE stream that lasts 2.5 times the request timeout, one event every 250 ms. */
  @Get('sse')
  sse(@Res() reply: FastifyReply): void {
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache' });
    let n = 0;
    const timer = setInterval(() => {
      n++;
      res.write(`id: ${n}\nevent: tick\ndata: ${n}\n\n`);
      if (n * 250 >= REQUEST_TIMEOUT_MS * 2.5) {
        clearInterval(timer);
        res.end();
      }
    }, 250);
    res.once('close', () => clearInterval(timer));
  }
}

@Module({ controllers: [EdgeTestController] })
class EdgeTestModule {}

async function boot(http: Partial<HttpSettings> = {}): Promise<{ app: INestApplication; base: string; port: number }> {
  const app = await bootstrapService({
    name: 'edge-test',
    module: EdgeTestModule,
    port: 0,
    host: '127.0.0.1',
    logger: createLogger({ service: 'edge-test', level: 'error' }),
    bodyLimitBytes: 4_096,
    http: { ...defaultHttpSettings(), HTTP_REQUEST_TIMEOUT_MS: REQUEST_TIMEOUT_MS, HTTP_HEADERS_TIMEOUT_MS: REQUEST_TIMEOUT_MS, ...http },
  });
  const { port } = app.getHttpServer().address() as AddressInfo;
  return { app, base: `http://127.0.0.1:${port}`, port };
}

/** Raw bytes over a socket, then everything the server writes until it closes (or `waitMs` passes). */
function rawExchange(port: number, chunks: string[], waitMs = 10_000): Promise<{ text: string; closedByServer: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    let text = '';
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ text, closedByServer: false });
    }, waitMs);
    socket.on('connect', () => chunks.forEach((c) => socket.write(c)));
    socket.on('data', (d) => (text += d.toString('utf8')));
    socket.on('error', (err) => {
      if ((err as NodeJS.ErrnoException).code !== 'ECONNRESET') reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ text, closedByServer: true });
    });
  });
}

const bodyOf = (raw: string) => JSON.parse(raw.slice(raw.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } };
const nested = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);

describe('the HTTP edge of every service (bootstrapService)', () => {
  let app: INestApplication;
  let base: string;
  let port: number;

  before(async () => ({ app, base, port } = await boot()));
  after(() => app.close());

  it('sends security headers on an API answer, and no x-powered-by or server header', async () => {
    const res = await fetch(`${base}/t/ok`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), "default-src 'none';frame-ancestors 'none'");
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('x-frame-options'), 'DENY');
    assert.match(res.headers.get('x-request-id') ?? '', /^[0-9a-f-]{32,36}$/);
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.match(res.headers.get('strict-transport-security') ?? '', /max-age=31536000; includeSubDomains/);
    assert.equal(res.headers.get('x-powered-by'), null);
    assert.equal(res.headers.get('server'), null);
  });

  it('keeps a CSP the route set itself (the dashboard serves HTML with its own)', async () => {
    const res = await fetch(`${base}/t/own-csp`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-security-policy'), OWN_CSP);
  });

  it('sends no CORS headers when CORS_ALLOWED_ORIGINS is empty (the default)', async () => {
    const res = await fetch(`${base}/t/ok`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(res.headers.get('access-control-allow-origin'), null);
    const preflight = await fetch(`${base}/t/echo`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST' },
    });
    assert.equal(preflight.headers.get('access-control-allow-origin'), null);
    assert.equal(preflight.status, 404, 'no preflight route without CORS');
  });

  it('accepts JSON nested 64 deep and refuses 65 with 400 json_too_deep naming the limit', async () => {
    const post = (body: string) => fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
    assert.equal((await post(nested(64))).status, 201);
    const res = await post(nested(65));
    const body = (await res.json()) as { error: { code: string; message: string } };
    assert.equal(res.status, 400);
    assert.equal(body.error.code, 'json_too_deep');
    assert.match(body.error.message, /64/);
    const inString = await post(JSON.stringify({ text: '['.repeat(200) }));
    assert.equal(inString.status, 201, 'brackets inside a string are not nesting');
  });

  it('refuses a body over the size limit with 413 payload_too_large', async () => {
    const res = await fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ pad: 'x'.repeat(5_000) }) });
    assert.equal(res.status, 413);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'payload_too_large');
    // The connection stays open and the rest of the body is read and dropped: a client still writing a large
    // body gets the 413, not a reset (a closed socket with unread data resets; seen in the HTTP fuzz suite).
    assert.notEqual(res.headers.get('connection'), 'close');
    const big = JSON.stringify({ pad: 'x'.repeat(2 * 1024 * 1024) });
    for (let i = 0; i < 5; i++) {
      const again = await fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: big });
      assert.equal(again.status, 413);
      await again.arrayBuffer();
    }
    const after = await fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1}' });
    assert.equal(after.status, 201, 'the connection serves the next request');
  });

  it('refuses trailing data after the JSON value as invalid_json', async () => {
    const res = await fetch(`${base}/t/echo`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"a":1} {"b":2}' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'invalid_json');
  });

  it('answers an unexpected error with 500 internal_error: no stack, no path, no message, a request id', async () => {
    const res = await fetch(`${base}/t/boom`);
    const text = await res.text();
    assert.equal(res.status, 500);
    const body = JSON.parse(text) as { error: { code: string; message: string } };
    assert.equal(body.error.code, 'internal_error');
    assert.match(body.error.message, /request id [0-9a-f-]{32,36}$/);
    assert.ok(body.error.message.endsWith(res.headers.get('x-request-id') ?? 'no x-request-id header'), 'the body names the id of the x-request-id header');
    assert.doesNotMatch(text, /\/srv|\/app|secrets|db\.json|at boom|stack/, `leaked: ${text}`);
  });

  it('answers an unknown route with 404 and an unknown method on a known path with the same error body', async () => {
    const notFound = await fetch(`${base}/nowhere`);
    assert.equal(notFound.status, 404);
    assert.equal(((await notFound.json()) as { error: { code: string } }).error.code, 'not_found');
    const wrongMethod = await fetch(`${base}/t/ok`, { method: 'DELETE' });
    // Fastify routes by method and path together, so a method the path lacks is a route that does not exist.
    const body = (await wrongMethod.json()) as { error: { code: string; message: string } };
    assert.equal(wrongMethod.status, 404, JSON.stringify(body));
    assert.deepEqual(Object.keys(body), ['error']);
    assert.equal(body.error.code, 'not_found');
  });

  it('answers malformed percent-encoding in the path with 400 invalid_url', async () => {
    const { text } = await rawExchange(port, ['GET /t/items/%E0%A4%A HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n']);
    assert.match(text, /^HTTP\/1\.1 400/, text);
    assert.equal(bodyOf(text).error.code, 'invalid_url');
  });

  it('answers an overlong URL with 414 uri_too_long', async () => {
    const res = await fetch(`${base}/t/ok?q=${'a'.repeat(5_000)}`);
    assert.equal(res.status, 414);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'uri_too_long');
  });

  it('answers headers over the size limit with 431 headers_too_large and closes', async () => {
    const { text, closedByServer } = await rawExchange(port, [`GET /t/ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`]);
    assert.match(text, /^HTTP\/1\.1 431/, text);
    assert.equal(bodyOf(text).error.code, 'headers_too_large');
    assert.ok(closedByServer);
  });

  it('answers garbage that is not HTTP with 400 bad_request', async () => {
    const { text } = await rawExchange(port, ['NOT HTTP AT ALL\r\n\r\n']);
    assert.match(text, /^HTTP\/1\.1 400/, text);
    assert.equal(bodyOf(text).error.code, 'bad_request');
  });

  it('cuts a request whose body never finishes: 408 request_timeout, then the socket is closed', async () => {
    const { text, closedByServer } = await rawExchange(
      port,
      ['POST /t/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n', '{"half":'],
      REQUEST_TIMEOUT_MS * 10,
    );
    assert.ok(closedByServer, 'the server should close the socket of a slow request');
    assert.match(text, /^HTTP\/1\.1 408/, text);
    assert.equal(bodyOf(text).error.code, 'request_timeout');
  });

  it('ignores a body sent with GET (GET is bodyless: not parsed, not refused)', async () => {
    const body = '{"ignored":true}';
    const { text } = await rawExchange(port, [
      `GET /t/ok HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    ]);
    assert.match(text, /^HTTP\/1\.1 200/, text);
    assert.deepEqual(JSON.parse(text.slice(text.indexOf('\r\n\r\n') + 4)), { ok: true });
  });

  it('does not cut a WebSocket on the same server that lives past the request timeout', async () => {
    const wss = new WebSocketServer({ noServer: true });
    wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo ${String(data)}`)));
    const server = app.getHttpServer() as Server;
    const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
    server.on('upgrade', onUpgrade);
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
    try {
      await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
      await new Promise((resolve) => setTimeout(resolve, REQUEST_TIMEOUT_MS * 2));
      const answer = new Promise<string>((resolve, reject) => {
        ws.once('message', (data) => resolve(String(data)));
        ws.once('close', () => reject(new Error('the socket was closed')));
      });
      ws.send('still there?');
      assert.equal(await answer, 'echo still there?');
    } finally {
      ws.close();
      server.off('upgrade', onUpgrade);
      wss.close();
    }
  });

  it('does not cut an SSE stream that outlives the request timeout', async () => {
    const res = await fetch(`${base}/t/sse`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff', 'helmet headers reach a hijacked stream');
    const text = await res.text();
    const ids = [...text.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
    assert.deepEqual(ids, Array.from({ length: 10 }, (_, i) => i + 1), `the stream was cut: ${text}`);
  });
});

describe('an edge configured by settings: CORS_ALLOWED_ORIGINS, HTTP_MAX_HEADER_BYTES, HTTP_LISTEN_BACKLOG', () => {
  let app: INestApplication;
  let base: string;
  let port: number;

  before(async () => ({ app, base, port } = await boot({ CORS_ALLOWED_ORIGINS: ['https://app.example.com'], CORS_MAX_AGE_SECONDS: 600, HTTP_MAX_HEADER_BYTES: 2_048, HTTP_LISTEN_BACKLOG: 1_234 })));
  after(() => app.close());

  it('listens with HTTP_LISTEN_BACKLOG as the kernel backlog (Send-Q of the listening socket)', (t) => {
    let out: string;
    try {
      out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
    } catch {
      return t.skip('no `ss` (iproute2) on this machine to read the backlog with');
    }
    const backlog = Math.min(1_234, Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8')));
    assert.equal(out.trim().split(/\s+/)[2], String(backlog), out);
  });

  it('applies HTTP_MAX_HEADER_BYTES: 3 KB of headers is 431 under a 2 KB limit', async () => {
    const { text } = await rawExchange(port, [`GET /t/ok HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(3_000)}\r\n\r\n`]);
    assert.match(text, /^HTTP\/1\.1 431/, text);
  });

  it('gives an allowed origin its headers, with the headers a script may read', async () => {
    const res = await fetch(`${base}/t/ok`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.equal(res.headers.get('access-control-allow-credentials'), null);
    const exposed = res.headers.get('access-control-expose-headers') ?? '';
    for (const h of ['Location', 'Retry-After', 'Idempotent-Replayed']) assert.match(exposed, new RegExp(h), `expected ${h} in ${exposed}`);
  });

  it('gives any other origin no CORS headers', async () => {
    const res = await fetch(`${base}/t/ok`, { headers: { origin: 'https://evil.example.net' } });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('access-control-allow-origin'), null);
  });

  it('answers a preflight with methods, headers and a max age', async () => {
    const res = await fetch(`${base}/t/echo`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example.com', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,idempotency-key' },
    });
    assert.equal(res.status, 204);
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    assert.match(res.headers.get('access-control-allow-methods') ?? '', /POST/);
    const allowed = (res.headers.get('access-control-allow-headers') ?? '').toLowerCase();
    for (const h of ['authorization', 'idempotency-key', 'last-event-id']) assert.ok(allowed.includes(h), `expected ${h} in ${allowed}`);
    assert.equal(res.headers.get('access-control-max-age'), '600');
  });

  it('puts the CORS headers on a hijacked SSE stream too', async () => {
    const res = await fetch(`${base}/t/sse`, { headers: { origin: 'https://app.example.com' } });
    assert.equal(res.headers.get('access-control-allow-origin'), 'https://app.example.com');
    await res.body?.cancel();
  });
});
