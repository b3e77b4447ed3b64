import { strict as assert } from 'node:assert';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { AgentDefinition } from '../agents/agent-definition';
import { builtinAgents } from '../agents/builtin-agents';
import { hostAllowed, httpFetchTool } from './http-fetch';
import { ToolRegistry } from './tool-registry';

const base = builtinAgents()[0]!;
const agentWith = (allowHosts?: string[]): AgentDefinition => ({ ...base, tools: ['http_fetch'], ...(allowHosts ? { http: { allowHosts } } : {}) });

describe('http_fetch', () => {
  let server: Server;
  let port = 0;
  const hits: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      hits.push(req.url ?? '');
      if (req.url === '/hello') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('hello, tool');
      if (req.url === '/away') return void res.writeHead(302, { location: `http://localhost:${port}/hello` }).end();
      if (req.url === '/here') return void res.writeHead(301, { location: '/hello' }).end();
      if (req.url === '/big') return void res.writeHead(200, { 'content-type': 'text/plain' }).end('x'.repeat(10_000));
      res.writeHead(404).end('not here');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const run = (url: string, agent = agentWith(['127.0.0.1']), maxBytes?: number) =>
    new ToolRegistry([httpFetchTool({ maxBytes, timeoutMs: 5_000, allowAddresses: ['127.0.0.1'] })]).execute(
      { id: 'c1', name: 'http_fetch', arguments: JSON.stringify({ url }) },
      { agent, signal: new AbortController().signal },
    );

  it('GETs a URL on an allowed host and returns the status and the body', async () => {
    const result = await run(`http://127.0.0.1:${port}/hello`);
    assert.ok(result.ok, JSON.stringify(result));
    assert.match(result.content, /^HTTP 200 OK\n/);
    assert.match(result.content, /hello, tool$/);
  });

  it('reports a 404 as a result, with its status', async () => {
    const result = await run(`http://127.0.0.1:${port}/missing`);
    assert.ok(result.ok && /^HTTP 404/.test(result.content));
  });

  it('refuses a host off the allowlist without connecting', async () => {
    const before = hits.length;
    const result = await run(`http://localhost:${port}/hello`);
    assert.ok(!result.ok && /host "localhost" is refused: not on the allowlist/.test(result.error), JSON.stringify(result));
    assert.equal(hits.length, before);
  });

  it('refuses every host for an agent without http.allowHosts', async () => {
    const result = await run(`http://127.0.0.1:${port}/hello`, agentWith());
    assert.ok(!result.ok && /no hosts are allowed/.test(result.error));
  });

  it('refuses a loopback address unless it is allowed by address, before connecting', async () => {
    const before = hits.length;
    const refused = await new ToolRegistry([httpFetchTool({ timeoutMs: 5_000 })]).execute(
      { id: 'c1', name: 'http_fetch', arguments: JSON.stringify({ url: `http://127.0.0.1:${port}/hello` }) },
      { agent: agentWith(['127.0.0.1']), signal: new AbortController().signal },
    );
    assert.ok(!refused.ok && /address 127.0.0.1 is refused: loopback/.test(refused.error), JSON.stringify(refused));
    const metadata = await run('http://169.254.169.254/latest/meta-data/', agentWith(['169.254.169.254']));
    assert.ok(!metadata.ok && /refused/.test(metadata.error), JSON.stringify(metadata));
    assert.equal(hits.length, before);
  });

  it('refuses other schemes', async () => {
    const result = await run('file:///etc/passwd');
    assert.ok(!result.ok && /file: URLs are refused/.test(result.error));
  });

  it('follows a redirect on an allowed host, and refuses one to a host off the list', async () => {
    const same = await run(`http://127.0.0.1:${port}/here`);
    assert.ok(same.ok && /hello, tool/.test(same.content));
    const before = hits.length;
    const away = await run(`http://127.0.0.1:${port}/away`);
    assert.ok(!away.ok && /redirect to host "localhost" is refused/.test(away.error), JSON.stringify(away));
    assert.deepEqual(hits.slice(before), ['/away'], 'the redirect target was not fetched');
  });

  it('cuts the body at maxBytes and says so', async () => {
    const result = await run(`http://127.0.0.1:${port}/big`, undefined, 1000);
    assert.ok(result.ok);
    const body = result.content.split('\n\n')[1]!;
    assert.equal(body, `${'x'.repeat(1000)}\n[truncated at 1000 bytes]`);
  });

  it('validates its arguments before running', async () => {
    const result = await new ToolRegistry([httpFetchTool()]).execute(
      { id: 'c1', name: 'http_fetch', arguments: '{"link":"http://127.0.0.1/"}' },
      { agent: agentWith(['127.0.0.1']), signal: new AbortController().signal },
    );
    assert.ok(!result.ok && /invalid arguments/.test(result.error));
  });

  it('matches hosts exactly or by *.domain (subdomains only)', () => {
    assert.ok(hostAllowed('api.example.com', ['api.example.com']));
    assert.ok(hostAllowed('API.Example.com', ['api.example.com']));
    assert.ok(hostAllowed('a.b.example.com', ['*.example.com']));
    assert.ok(!hostAllowed('example.com', ['*.example.com']));
    assert.ok(!hostAllowed('evilexample.com', ['*.example.com']));
    assert.ok(!hostAllowed('example.com.evil.net', ['example.com']));
  });
});
