import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An OpenAI-compatible endpoint (`POST /v1/chat/completions`) that misbehaves on purpose, for the fault
 * suite: a last user message containing `hang` gets no response at all (headers never sent, the socket held
 * open), anything else gets a 200 event stream of garbage (bytes that are no JSON chunk, then an end without
 * `[DONE]`). The protocol-faithful fake (@keelson/testing startFakeOpenAI) models a well-behaved server; this
 * one models a broken one.
 */
export interface MisbehavingModel {
  baseUrl: string;
  /** Requests received, by kind. */
  counts: { hang: number; garbage: number };
  stop(): Promise<void>;
}

export async function startMisbehavingModel(): Promise<MisbehavingModel> {
  const counts = { hang: 0, garbage: 0 };
  const held = new Set<ServerResponse>();
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let last = '';
      try {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { messages?: Array<{ role: string; content: unknown }> };
        last = String(body.messages?.filter((m) => m.role === 'user').at(-1)?.content ?? '');
      } catch {
        // a body we cannot read is answered with garbage too
      }
      if (last.includes('hang')) {
        counts.hang++;
        held.add(res);
        res.on('close', () => held.delete(res));
        return;
      }
      counts.garbage++;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: {"id":"x","choices":[{"delta":{"content":\n\n');
      res.write('data: <html>502 Bad Gateway</html>\n\n');
      res.end('\u0000\u0001not an event stream');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    counts,
    async stop() {
      for (const res of held) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
