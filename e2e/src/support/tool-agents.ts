import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A page server on loopback for http_fetch to read: the body for each request's path. */
export async function startPages(bodyFor: (path: string) => string): Promise<{ base: string; close(): Promise<void> }> {
  const server = createServer((req, res) => res.writeHead(200, { 'content-type': 'text/plain' }).end(bodyFor(req.url ?? '/')));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** An agent on the (fake) OpenAI provider that may call http_fetch on `allowHosts`. */
export const fetcherAgent = (allowHosts: string[]) => ({
  id: 'fetcher',
  version: '1',
  description: 'fetches a page, then answers',
  model: { provider: 'openai', name: 'gpt-test' },
  systemPrompt: 'Use the tool.',
  tools: ['http_fetch'],
  http: { allowHosts },
  limits: { maxOutputTokens: 512, maxSteps: 3, timeoutMs: 30_000 },
});

/** Writes agent files and an OpenAI key file; returns the mesh environment that serves them from `openaiBaseUrl`. */
export function agentsEnv(agents: object[], openaiBaseUrl: string): Record<string, string> {
  const dir = mkdtempSync(join(tmpdir(), 'keelson-e2e-agents-'));
  writeFileSync(join(dir, 'openai-key'), 'sk-e2e\n');
  mkdirSync(join(dir, 'agents'));
  for (const agent of agents) writeFileSync(join(dir, 'agents', `${(agent as { id: string }).id}.json`), JSON.stringify(agent));
  return { AGENTS_DIR: join(dir, 'agents'), OPENAI_BASE_URL: openaiBaseUrl, OPENAI_API_KEY_FILE: join(dir, 'openai-key') };
}
