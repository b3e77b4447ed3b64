import { strict as assert } from 'node:assert';
import { connect, type AddressInfo, type Socket } from 'node:net';
import { describe, it } from 'node:test';
import Fastify, { type FastifyInstance } from 'fastify';
import { defaultHttpSettings } from '@keelson/config';
import { edgeServerOptions } from './edge';

/**
 * A graceful shutdown (docs/operations.md "Rolling restarts"): once a service closes, a new connection is
 * refused, and a request that reaches it on a connection it had already accepted is served, not answered with
 * Fastify's bare 503 (no Retry-After, not the error body every service uses), which a client could neither
 * retry safely nor read.
 */

/** Sends `path` on `socket`; resolves with everything the server wrote until it closed ('' if nothing). */
function exchange(socket: Socket, path: string): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
    socket.on('error', () => undefined); // a reset shows as an empty answer
    socket.on('close', () => resolve(text));
    socket.write(`GET ${path} HTTP/1.1\r\nHost: test\r\n\r\n`);
  });
}

/** A connection the server has accepted, its request not sent yet. */
async function accepted(app: FastifyInstance): Promise<Socket> {
  const seen = new Promise((resolve) => app.server.once('connection', resolve));
  const socket = connect((app.server.address() as AddressInfo).port, '127.0.0.1');
  await seen;
  return socket;
}

async function untilStopped(app: FastifyInstance): Promise<void> {
  for (let i = 0; i < 500 && app.server.listening; i++) await new Promise((resolve) => setTimeout(resolve, 5));
}

const tryConnect = (port: number) =>
  new Promise<string>((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.on('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });

/** Closes `app` with one request in flight and one connection accepted but not yet used; what each gets. */
async function closeUnderLoad(app: FastifyInstance): Promise<{ inFlight: string; late: string; newConnection: string }> {
  let release!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let entered!: () => void;
  const inHandler = new Promise<void>((resolve) => (entered = resolve));
  app.get('/slow', async () => {
    entered();
    await gate;
    return { slow: true };
  });
  app.get('/quick', async () => ({ quick: true }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const inFlight = exchange(await accepted(app), '/slow');
  await inHandler;
  const early = await accepted(app);
  const closing = app.close();
  await untilStopped(app);
  const late = exchange(early, '/quick');
  const newConnection = await tryConnect(port);
  const lateAnswer = await late;
  release();
  const inFlightAnswer = await inFlight;
  await closing;
  return { inFlight: inFlightAnswer, late: lateAnswer, newConnection };
}

describe('the HTTP edge while the service closes', () => {
  it('serves a request that arrives on an accepted connection, finishes the one in flight, refuses new connections', async () => {
    const seen = await closeUnderLoad(Fastify(edgeServerOptions(defaultHttpSettings(), 1_048_576)));
    assert.equal(seen.newConnection, 'ECONNREFUSED');
    assert.match(seen.late, /^HTTP\/1\.1 200[\s\S]*[Cc]onnection: close[\s\S]*"quick":true/, JSON.stringify(seen.late));
    assert.match(seen.inFlight, /^HTTP\/1\.1 200[\s\S]*"slow":true/);
  });

  it("Fastify's default would refuse that late request with a bare 503 (what the edge option is for)", async () => {
    const seen = await closeUnderLoad(Fastify());
    assert.match(seen.late, /^HTTP\/1\.1 503/);
    assert.doesNotMatch(seen.late, /[Rr]etry-[Aa]fter/);
  });
});
