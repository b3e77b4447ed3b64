import { strict as assert } from 'node:assert';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, beforeEach, describe, it } from 'node:test';
import { KeelsonError } from '@keelson/contracts';
import { OpenAIEmbeddings, parseRetryAfter } from './openai-embeddings';

type Handler = (req: IncomingMessage, body: any, res: ServerResponse) => void;

/** A local server that speaks OpenAI's /v1/embeddings wire format, one scripted answer per request. */
describe('OpenAIEmbeddings against a local /v1/embeddings server', () => {
  let server: Server;
  let base: string;
  let script: Handler[] = [];
  let seen: { auth?: string; body: any }[] = [];
  const DIM = 3;
  const SECRET = 'sk-test-secret-never-logged';

  const vectorFor = (text: string) => [text.length, 1, 0];
  const ok: Handler = (_req, body, res) => {
    // Out of order on purpose: the client must place vectors by `index`.
    const data = (body.input as string[]).map((t, index) => ({ object: 'embedding', index, embedding: vectorFor(t) })).reverse();
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ object: 'list', data, model: body.model, usage: { prompt_tokens: 3, total_tokens: 3 } }));
  };
  const fail = (status: number, message: string, headers: Record<string, string> = {}): Handler => (_req, _body, res) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify({ error: { message, type: 'invalid_request_error', param: null, code: null } }));
  };

  before(async () => {
    server = createServer((req, res) => {
      let raw = '';
      req.on('data', (c) => (raw += c));
      req.on('end', () => {
        const body = JSON.parse(raw);
        seen.push({ auth: req.headers.authorization, body });
        assert.equal(req.url, '/v1/embeddings');
        (script.shift() ?? ok)(req, body, res);
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    script = [];
    seen = [];
  });

  const sleeps: number[] = [];
  const client = (over: Partial<ConstructorParameters<typeof OpenAIEmbeddings>[0]> = {}) =>
    new OpenAIEmbeddings({
      baseUrl: base,
      model: 'text-embedding-3-small',
      dimension: DIM,
      apiKey: async () => SECRET,
      sleep: async (ms) => void sleeps.push(ms),
      random: () => 0.5,
      ...over,
    });

  it('sends {model, input} with the bearer key, batches, and returns vectors in input order', async () => {
    const texts = ['a', 'bb', 'ccc', 'dddd', 'eeeee'];
    const vectors = await client({ batchSize: 2 }).embed(texts);
    assert.deepEqual(vectors, texts.map(vectorFor));
    assert.deepEqual(seen.map((s) => s.body.input), [['a', 'bb'], ['ccc', 'dddd'], ['eeeee']]);
    assert.ok(seen.every((s) => s.body.model === 'text-embedding-3-small' && s.auth === `Bearer ${SECRET}`));
  });

  it('retries 429 after the Retry-After the server asked for, and 5xx with jittered backoff', async () => {
    sleeps.length = 0;
    script = [fail(429, 'Rate limit reached', { 'retry-after': '2' }), fail(503, 'overloaded'), ok];
    assert.deepEqual(await client().embed(['x']), [vectorFor('x')]);
    assert.equal(seen.length, 3);
    assert.deepEqual(sleeps, [2_000, 500]);
  });

  it('fails a 400 at once with the server\'s message and never the key', async () => {
    script = [fail(400, "'input' is invalid")];
    await assert.rejects(client().embed(['x']), (err: unknown) => {
      assert.ok(err instanceof KeelsonError);
      assert.equal(err.code as string, 'embeddings_unavailable');
      assert.match(err.message, /HTTP 400: 'input' is invalid/);
      assert.ok(!err.message.includes(SECRET));
      return true;
    });
    assert.equal(seen.length, 1);
  });

  it('gives up after maxRetries on persistent 5xx', async () => {
    script = [fail(500, 'boom'), fail(500, 'boom'), fail(500, 'boom')];
    await assert.rejects(client({ maxRetries: 2 }).embed(['x']), /HTTP 500: boom/);
    assert.equal(seen.length, 3);
  });

  it('refuses vectors of another dimension than configured', async () => {
    await assert.rejects(client({ dimension: 4 }).embed(['x']), (err: unknown) => err instanceof KeelsonError && (err.code as string) === 'vector_dimension_mismatch');
  });

  it('times out a request that does not answer, and retries it', async () => {
    script = [(_req, _body, res) => setTimeout(() => ok(_req, { input: ['x'], model: 'm' }, res), 300), ok];
    assert.deepEqual(await client({ timeoutMs: 100 }).embed(['x']), [vectorFor('x')]);
    assert.equal(seen.length, 2);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    assert.equal(parseRetryAfter('1.5'), 1_500);
    assert.equal(parseRetryAfter(new Date(10_000).toUTCString(), 4_000), 6_000);
    assert.equal(parseRetryAfter(null), undefined);
  });
});
